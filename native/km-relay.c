/*
 * km-relay: the gateway's relay for opaque tunnels (Node-API addon). Node's `a.pipe(b)` copies
 * every byte into user space and back, one event-loop turn per chunk; here a native thread moves
 * the bytes with splice(2) through a pipe per direction (socket -> pipe -> socket, no user-space
 * copy), for many tunnels at once, while the gateway's event loop does nothing for them.
 *
 *   create(onEnd, pipeBytes, socketBufferBytes) -> relay   (one epoll thread per relay)
 *   open(relay, fdA, fdB, toB, toA, idleMs, flags) -> id   (flags: 1 = read/write, no splice)
 *   close(relay, id)                                       (ends that tunnel: reason "closed")
 *   stop(relay)                                            (ends all, then onEnd(0, ...) once)
 *   onEnd(id, aToB, bToA, reason, errno)                   (on the JS thread, once per tunnel)
 *
 * `open` takes duplicates of the two connected stream sockets (TCP or unix), so the caller closes
 * its own. `toB`/`toA` are bytes the caller already holds: they reach B (resp. A) before anything
 * read from the other socket. Semantics: EOF from one side is forwarded as shutdown(SHUT_WR) on
 * the other while the other direction keeps flowing; an error on either side, `idleMs` without a
 * byte either way, `close` or `stop` closes both. Byte counts are what was delivered to each side.
 * Reasons: 0 both directions ended, 1 error (errno), 2 idle, 3 closed.
 *
 * The module is context-aware (it loads in worker threads). All Node-API calls happen on the JS
 * thread; the relay thread talks to it only through a thread-safe function and a command queue.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { END_EOF = 0, END_ERROR = 1, END_IDLE = 2, END_CLOSED = 3 };
enum { CMD_ADD, CMD_CLOSE, CMD_STOP };
enum { FLAG_RW = 1 };

/* Read/write mode buffer (no splice), and the most one direction moves per wake-up before the
 * thread serves the other tunnels (fairness: edge-triggered events need a re-queue). */
#define RW_BUF_BYTES (64 * 1024)
#define TURN_BYTES (1024 * 1024)
#define MAX_EVENTS 64

typedef struct dir {
  int pr, pw;          /* pipe: read and write end (-1 in read/write mode) */
  size_t pcap;         /* pipe capacity */
  size_t inpipe;       /* bytes spliced into the pipe, not yet out */
  char *buf;           /* bytes to write before the pipe's: the caller's, or read/write mode */
  size_t bcap, blen, boff;
  int rw;              /* read/write instead of splice (forced, or splice said EINVAL) */
  int eof;             /* the source reached EOF */
  int shut;            /* SHUT_WR sent to the destination: this direction is over */
  uint64_t bytes;      /* delivered to the destination */
} dir_t;

typedef struct tunnel {
  uint32_t id;
  int fd[2];           /* A, B */
  dir_t d[2];          /* d[0]: A -> B, d[1]: B -> A */
  int64_t idle_ms, last_ms;
  int dead, queued;
  struct tunnel *prev, *next;  /* the relay thread's list of live tunnels */
  struct tunnel *again;        /* re-run list (turn budget used up) */
  struct tunnel *grave;        /* freed after the current batch of events */
} tunnel_t;

typedef struct cmd {
  int op;
  uint32_t id;
  tunnel_t *t;
  struct cmd *next;
} cmd_t;

typedef struct end_msg {
  uint32_t id;
  double up, down;
  int reason, err;
} end_msg_t;

typedef struct relay {
  /* JS thread only */
  napi_threadsafe_function tsfn;
  napi_env env;
  uint32_t next_id;
  int live, stopping, hooked, joined, refs;
  size_t pipe_bytes;
  int sock_bytes;
  pthread_t thread;
  /* shared */
  int ep, ev;
  pthread_mutex_t mu;
  cmd_t *head, *tail;
  /* relay thread only */
  tunnel_t *list, *again;
  int64_t next_check;
} relay_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void free_tunnel(tunnel_t *t) {
  for (int i = 0; i < 2; i++) {
    close_fd(&t->fd[i]);
    close_fd(&t->d[i].pr);
    close_fd(&t->d[i].pw);
    free(t->d[i].buf);
  }
  free(t);
}

/* ---- relay thread ---------------------------------------------------------------------- */

static void post_end(relay_t *r, uint32_t id, double up, double down, int reason, int err) {
  end_msg_t *m = malloc(sizeof *m);
  if (!m) return;
  *m = (end_msg_t){ id, up, down, reason, err };
  if (napi_call_threadsafe_function(r->tsfn, m, napi_tsfn_nonblocking) != napi_ok) free(m);
}

/* Ends a tunnel: out of epoll first (Node may still hold its own descriptor for a moment, and a
 * registration lives as long as any descriptor of the socket), then closed; freed after the batch. */
static void finish(relay_t *r, tunnel_t *t, int reason, int err, tunnel_t **grave) {
  if (t->dead) return;
  t->dead = 1;
  for (int i = 0; i < 2; i++) epoll_ctl(r->ep, EPOLL_CTL_DEL, t->fd[i], NULL);
  if (t->prev) t->prev->next = t->next;
  else r->list = t->next;
  if (t->next) t->next->prev = t->prev;
  post_end(r, t->id, (double)t->d[0].bytes, (double)t->d[1].bytes, reason, err);
  for (int i = 0; i < 2; i++) close_fd(&t->fd[i]);
  t->grave = *grave;
  *grave = t;
}

static int soft(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

/* Writes what is buffered, else what is in the pipe. 1: moved bytes, 0: blocked, <0: -errno. */
static int drain(dir_t *d, int dst) {
  ssize_t n;
  if (d->boff < d->blen) {
    n = send(dst, d->buf + d->boff, d->blen - d->boff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return soft(errno) ? 0 : -errno;
    d->boff += (size_t)n;
    if (d->boff == d->blen) d->boff = d->blen = 0;
  } else if (d->inpipe > 0 && !d->rw) {
    n = splice(d->pr, NULL, dst, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINVAL) {
      d->rw = 1; /* the destination takes no splice: the pipe's bytes go through the buffer */
      return 1;
    }
    if (n < 0) return soft(errno) ? 0 : -errno;
    d->inpipe -= (size_t)n;
  } else {
    return 0;
  }
  d->bytes += (uint64_t)n;
  return n > 0;
}

/* Reads from the source (or, in read/write mode, first from the pipe). Same results as drain. */
static int fill(dir_t *d, int src) {
  ssize_t n;
  if (d->rw) {
    if (d->boff < d->blen) return 0;
    if (!d->buf || d->bcap < RW_BUF_BYTES) {
      char *b = realloc(d->buf, RW_BUF_BYTES);
      if (!b) return -ENOMEM;
      d->buf = b;
      d->bcap = RW_BUF_BYTES;
    }
    int from_pipe = d->inpipe > 0;
    if (!from_pipe && d->eof) return 0;
    n = read(from_pipe ? d->pr : src, d->buf, from_pipe && d->inpipe < d->bcap ? d->inpipe : d->bcap);
    if (n < 0) return soft(errno) ? 0 : -errno;
    if (n == 0) {
      if (from_pipe) return -EIO; /* cannot happen: the pipe holds inpipe bytes */
      d->eof = 1;
      return 1;
    }
    if (from_pipe) d->inpipe -= (size_t)n;
    d->blen = (size_t)n;
    d->boff = 0;
    return 1;
  }
  if (d->eof || d->inpipe >= d->pcap) return 0;
  n = splice(src, NULL, d->pw, NULL, d->pcap - d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n < 0 && errno == EINVAL) {
    d->rw = 1; /* the source gives no splice: read(2) from now on, after the pipe's bytes */
    return 1;
  }
  if (n < 0) return soft(errno) ? 0 : -errno;
  if (n == 0) d->eof = 1;
  d->inpipe += (size_t)n;
  return 1;
}

/* Moves one direction until both ends would block (edge-triggered: that is when the next event
 * comes), or the turn budget is used up (*more). 0 or -errno. */
static int pump_dir(dir_t *d, int src, int dst, int *moved, int *more) {
  if (d->shut) return 0;
  uint64_t start = d->bytes;
  for (;;) {
    int a = drain(d, dst);
    if (a < 0) return a;
    int b = fill(d, src);
    if (b < 0) return b;
    if (!a && !b) break;
    if (d->bytes - start >= TURN_BYTES) {
      *more = 1;
      break;
    }
  }
  if (d->bytes != start) *moved = 1;
  if (d->eof && d->boff == d->blen && d->inpipe == 0) {
    /* ENOTCONN: the peer is gone already; the other direction finds out by itself. */
    if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN) return -errno;
    d->shut = 1;
  }
  return 0;
}

static void pump(relay_t *r, tunnel_t *t, int64_t now, tunnel_t **grave) {
  int moved = 0, more = 0;
  for (int i = 0; i < 2; i++) {
    int e = pump_dir(&t->d[i], t->fd[i], t->fd[1 - i], &moved, &more);
    if (e < 0) return finish(r, t, END_ERROR, -e, grave);
  }
  if (moved) t->last_ms = now;
  if (t->d[0].shut && t->d[1].shut) return finish(r, t, END_EOF, 0, grave);
  if (more && !t->queued) {
    t->queued = 1;
    t->again = r->again;
    r->again = t;
  }
}

static int make_pipe(dir_t *d, size_t bytes) {
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  d->pr = p[0];
  d->pw = p[1];
  if (bytes > 0) fcntl(d->pw, F_SETPIPE_SZ, (int)bytes); /* best effort: the default works */
  int cap = fcntl(d->pw, F_GETPIPE_SZ);
  d->pcap = cap > 0 ? (size_t)cap : 65536;
  return 0;
}

/* What `open` leaves to this thread, so that the caller's first bytes go out sooner: socket
 * buffer sizes and the pipes. A pipe that cannot be made (no descriptors left) means
 * read/write for that direction, not a failed tunnel: its first bytes may already be sent. */
static void setup(relay_t *r, tunnel_t *t) {
  int sb = r->sock_bytes;
  for (int i = 0; i < 2; i++) {
    if (sb > 0) {
      setsockopt(t->fd[i], SOL_SOCKET, SO_RCVBUF, &sb, sizeof sb);
      setsockopt(t->fd[i], SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
    }
    if (!t->d[i].rw && make_pipe(&t->d[i], r->pipe_bytes) < 0) t->d[i].rw = 1;
  }
}

static void add(relay_t *r, tunnel_t *t, int64_t now, tunnel_t **grave) {
  setup(r, t);
  t->next = r->list;
  if (r->list) r->list->prev = t;
  r->list = t;
  t->last_ms = now;
  if (t->idle_ms > 0 && now + t->idle_ms < r->next_check) r->next_check = now + t->idle_ms;
  for (int i = 0; i < 2; i++) {
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = t };
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, t->fd[i], &ev) < 0) return finish(r, t, END_ERROR, errno, grave);
  }
  pump(r, t, now, grave);
}

/* Runs the queued commands; 1 when told to stop. */
static int commands(relay_t *r, int64_t now, tunnel_t **grave) {
  uint64_t v;
  if (read(r->ev, &v, sizeof v) < 0 && errno != EAGAIN) return 0;
  pthread_mutex_lock(&r->mu);
  cmd_t *c = r->head;
  r->head = r->tail = NULL;
  pthread_mutex_unlock(&r->mu);
  int stop = 0;
  while (c) {
    cmd_t *next = c->next;
    if (c->op == CMD_ADD) {
      add(r, c->t, now, grave); /* one added with a stop is closed with the others */
    } else if (c->op == CMD_CLOSE) {
      for (tunnel_t *t = r->list; t; t = t->next)
        if (t->id == c->id) {
          finish(r, t, END_CLOSED, 0, grave);
          break;
        }
    } else {
      stop = 1;
    }
    free(c);
    c = next;
  }
  return stop;
}

static void idle_scan(relay_t *r, int64_t now, tunnel_t **grave) {
  r->next_check = INT64_MAX;
  for (tunnel_t *t = r->list, *next; t; t = next) {
    next = t->next;
    if (t->idle_ms <= 0) continue;
    int64_t due = t->last_ms + t->idle_ms;
    if (due <= now) finish(r, t, END_IDLE, 0, grave);
    else if (due < r->next_check) r->next_check = due;
  }
}

static void bury(tunnel_t **grave) {
  while (*grave) {
    tunnel_t *t = *grave;
    *grave = t->grave;
    free_tunnel(t);
  }
}

static void *relay_main(void *arg) {
  relay_t *r = arg;
  /* Named for top -H and /proc/PID/task/TID/comm: its CPU is the tunnels', apart from the loop's. */
  pthread_setname_np(pthread_self(), "km-relay");
  struct epoll_event evs[MAX_EVENTS];
  tunnel_t *grave = NULL;
  int stop = 0;
  while (!stop) {
    int64_t now = now_ms();
    int timeout = r->again ? 0 : r->next_check == INT64_MAX ? -1 : r->next_check <= now ? 0 : (int)(r->next_check - now);
    int n = epoll_wait(r->ep, evs, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) break;
    now = now_ms();
    for (int i = 0; i < n; i++) {
      tunnel_t *t = evs[i].data.ptr;
      if (!t) stop |= commands(r, now, &grave);
      else if (!t->dead) pump(r, t, now, &grave);
    }
    tunnel_t *again = r->again;
    r->again = NULL;
    for (tunnel_t *t = again, *next; t; t = next) {
      next = t->again;
      t->queued = 0;
      if (!t->dead) pump(r, t, now, &grave);
    }
    if (now >= r->next_check) idle_scan(r, now, &grave);
    bury(&grave);
  }
  while (r->list) finish(r, r->list, END_CLOSED, 0, &grave);
  bury(&grave);
  post_end(r, 0, 0, 0, END_CLOSED, 0); /* the last message: everything has ended */
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

/* ---- JS thread ------------------------------------------------------------------------- */

static void push(relay_t *r, int op, uint32_t id, tunnel_t *t) {
  cmd_t *c = calloc(1, sizeof *c);
  if (!c) return; /* out of memory: the tunnel stays until its own end */
  *c = (cmd_t){ op, id, t, NULL };
  pthread_mutex_lock(&r->mu);
  if (r->tail) r->tail->next = c;
  else r->head = c;
  r->tail = c;
  pthread_mutex_unlock(&r->mu);
  uint64_t one = 1;
  (void)!write(r->ev, &one, sizeof one);
}

static void join(relay_t *r) {
  if (r->joined) return;
  r->joined = 1;
  pthread_join(r->thread, NULL);
}

static void release_ref(relay_t *r) {
  if (--r->refs > 0) return;
  for (cmd_t *c = r->head, *next; c; c = next) {
    next = c->next;
    if (c->t) free_tunnel(c->t);
    free(c);
  }
  close_fd(&r->ep);
  close_fd(&r->ev);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

/* The thread released the function: it has returned or is about to. */
static void on_tsfn_finalize(napi_env env, void *data, void *hint) {
  relay_t *r = data;
  join(r);
  r->stopping = 1;
  release_ref(r);
}

static void on_env_cleanup(void *data) {
  /* Runs before the thread-safe function's own cleanup (registered after it): the thread must
   * be gone before that function is freed. */
  relay_t *r = data;
  r->hooked = 0;
  if (!r->stopping) push(r, CMD_STOP, 0, NULL);
  r->stopping = 1;
  join(r);
}

static void on_handle_finalize(napi_env env, void *data, void *hint) {
  relay_t *r = data;
  if (!r->stopping) {
    push(r, CMD_STOP, 0, NULL);
    r->stopping = 1;
  }
  release_ref(r);
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  relay_t *r = context;
  end_msg_t *m = data;
  if (env && cb) {
    if (m->id == 0) {
      if (r->hooked) napi_remove_env_cleanup_hook(env, on_env_cleanup, r);
      r->hooked = 0;
    } else if (--r->live == 0 && !r->stopping) {
      napi_unref_threadsafe_function(env, r->tsfn);
    }
    napi_value argv[5], undef;
    napi_create_uint32(env, m->id, &argv[0]);
    napi_create_double(env, m->up, &argv[1]);
    napi_create_double(env, m->down, &argv[2]);
    napi_create_int32(env, m->reason, &argv[3]);
    napi_create_int32(env, m->err, &argv[4]);
    napi_get_undefined(env, &undef);
    napi_call_function(env, undef, cb, 5, argv, NULL);
  }
  free(m);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "KM_RELAY", msg);
  return NULL;
}

static relay_t *relay_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "expected a relay");
    return NULL;
  }
  return p;
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name, out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t;
  if (argc < 3 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "create(onEnd, pipeBytes, socketBufferBytes)");
    return NULL;
  }
  int64_t pipe_bytes = 0, sock_bytes = 0;
  napi_get_value_int64(env, argv[1], &pipe_bytes);
  napi_get_value_int64(env, argv[2], &sock_bytes);
  relay_t *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, "relay", ENOMEM);
  r->ep = epoll_create1(EPOLL_CLOEXEC);
  r->ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  r->pipe_bytes = pipe_bytes > 0 ? (size_t)pipe_bytes : 0;
  r->sock_bytes = sock_bytes > 0 && sock_bytes < INT32_MAX ? (int)sock_bytes : 0;
  r->next_check = INT64_MAX;
  r->env = env;
  pthread_mutex_init(&r->mu, NULL);
  int err = r->ep < 0 || r->ev < 0 ? errno : 0;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  if (!err && epoll_ctl(r->ep, EPOLL_CTL_ADD, r->ev, &ev) < 0) err = errno;
  napi_create_string_utf8(env, "km-relay", NAPI_AUTO_LENGTH, &name);
  if (!err && napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, r, on_tsfn_finalize, r, call_js, &r->tsfn) != napi_ok) err = EINVAL;
  if (err) {
    close_fd(&r->ep);
    close_fd(&r->ev);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return throw_errno(env, "relay", err);
  }
  /* The thread gets no signals (they belong to Node's threads) and a small stack. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&r->thread, &attr, relay_main, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (err) {
    /* releasing the function finalizes it, which frees the relay: there is no thread to join */
    r->joined = 1;
    r->refs = 1;
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    return throw_errno(env, "relay thread", err);
  }
  r->refs = 2; /* the handle and the thread-safe function */
  napi_unref_threadsafe_function(env, r->tsfn);
  napi_add_env_cleanup_hook(env, on_env_cleanup, r);
  r->hooked = 1;
  if (napi_create_external(env, r, on_handle_finalize, NULL, &out) != napi_ok) return NULL;
  return out;
}

/* A duplicate of the caller's descriptor, non-blocking. */
static int take_fd(int fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return -1;
  int fl = fcntl(d, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(d, F_SETFL, fl | O_NONBLOCK);
  return d;
}

/* Copies the caller's bytes and writes what the socket takes right away: the first bytes of a
 * tunnel (a ClientHello) need not wait for the relay thread to wake up. */
static int preload(dir_t *d, napi_env env, napi_value v, int dst) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null) return 0;
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return -EINVAL;
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(dst, (char *)data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break; /* blocked or failed: the thread carries on (and sees any error) */
    off += (size_t)n;
  }
  d->bytes = off;
  if (off == len) return 0;
  d->buf = malloc(len - off);
  if (!d->buf) return -ENOMEM;
  memcpy(d->buf, (char *)data + off, len - off);
  d->bcap = d->blen = len - off;
  return 0;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open(relay, fdA, fdB, toB, toA, idleMs, flags)");
    return NULL;
  }
  relay_t *r = relay_arg(env, argv[0]);
  if (!r) return NULL;
  if (r->stopping) return throw_errno(env, "relay", ESHUTDOWN);
  int32_t fa = -1, fb = -1, flags = 0;
  int64_t idle = 0;
  napi_get_value_int32(env, argv[1], &fa);
  napi_get_value_int32(env, argv[2], &fb);
  napi_get_value_int64(env, argv[5], &idle);
  napi_get_value_int32(env, argv[6], &flags);
  tunnel_t *t = calloc(1, sizeof *t);
  if (!t) return throw_errno(env, "tunnel", ENOMEM);
  for (int i = 0; i < 2; i++) t->fd[i] = t->d[i].pr = t->d[i].pw = -1;
  int err = 0;
  int fds[2] = { fa, fb };
  for (int i = 0; i < 2 && !err; i++) {
    int type = 0;
    socklen_t tl = sizeof type;
    if (fds[i] < 0 || getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &tl) < 0) err = fds[i] < 0 ? EBADF : errno;
    else if (type != SOCK_STREAM) err = ESOCKTNOSUPPORT;
    else if ((t->fd[i] = take_fd(fds[i])) < 0) err = errno;
  }
  for (int i = 0; i < 2; i++) t->d[i].rw = (flags & FLAG_RW) != 0;
  if (!err) err = -preload(&t->d[0], env, argv[3], t->fd[1]);
  if (!err) err = -preload(&t->d[1], env, argv[4], t->fd[0]);
  if (err) {
    free_tunnel(t);
    return throw_errno(env, "tunnel", err);
  }
  if (++r->next_id == 0) r->next_id = 1;
  t->id = r->next_id;
  t->idle_ms = idle > 0 ? idle : 0;
  if (r->live++ == 0) napi_ref_threadsafe_function(env, r->tsfn);
  push(r, CMD_ADD, 0, t);
  napi_create_uint32(env, t->id, &out);
  return out;
}

/* The relay in argv[0] of a call with up to `max` arguments (throws when there is none). */
static relay_t *relay_call(napi_env env, napi_callback_info info, napi_value *argv, size_t max, size_t *argc) {
  *argc = max;
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  if (*argc < 1) {
    napi_throw_type_error(env, NULL, "expected a relay");
    return NULL;
  }
  return relay_arg(env, argv[0]);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[2];
  relay_t *r = relay_call(env, info, argv, 2, &argc);
  if (!r) return NULL;
  uint32_t id = 0;
  if (argc >= 2) napi_get_value_uint32(env, argv[1], &id);
  if (!r->stopping && id != 0) push(r, CMD_CLOSE, id, NULL);
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[1];
  relay_t *r = relay_call(env, info, argv, 1, &argc);
  if (!r || r->stopping) return NULL;
  r->stopping = 1;
  napi_ref_threadsafe_function(env, r->tsfn); /* alive until the last message is delivered */
  push(r, CMD_STOP, 0, NULL);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    { "create", NULL, js_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
    { "stop", NULL, js_stop, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
