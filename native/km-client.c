/*
 * km-client: the km CLI's native fast path. bin/km runs it for `km exec`, `km create`,
 * `km list` and `km status` (unless KM_CLIENT=0), so that these start no Node process:
 *
 *   km-client BIN_KM ARGS...   BIN_KM: the bin/km that ran it; ARGS: km's argv
 *   km-client --flags exec     the exec flags it parses (tested against the command table)
 *
 * It talks to kmd over $KM_HOME/kmd.sock: an HTTP Upgrade, then one JSON object per line each
 * way, byte strings in base64 (src/daemon/frames.ts). For `exec`, kmd parses the command
 * line, resolves the sandbox and answers with the plan of the launcher (argv, environment,
 * which descendant receives signals; src/daemon/exec-host.ts), and this program runs it as the
 * Node CLI does (src/cli/sandbox-exec.ts, src/substrate/local/exec.ts): in its own session,
 * stdin inherited, stdout and stderr through socketpairs relayed to its own and waited for
 * until they close (as ssh does), SIGINT and SIGTERM forwarded to the command, a signal after
 * the command has exited ending the wait; exit code the command's, 128+N when a signal N ended
 * it. It reports output activity (at most every 2 s) and, at the end, the exit code, and waits
 * for kmd's word that the `command` event is stored. The other commands kmd runs in-process
 * and streams their output back (src/daemon/cli-host.ts).
 *
 * Whenever it cannot do the job exactly as the Node CLI would (kmd not running, which the
 * Node CLI starts; kmd refusing: a stopped sandbox, an unknown reference, another store; a
 * flag it does not know, --help, global flags), it runs BIN_KM again with KM_CLIENT=0 and the
 * same argv before it has read or written anything, and the Node CLI does the job (or prints
 * the error). KM_CLIENT=debug says on stderr why it fell back.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_LINE (1 << 20)      /* kmd's frames are far smaller (output comes in 48 KiB chunks) */
#define CONNECT_WAIT_MS 10000   /* for kmd's first answer; then the Node CLI takes over */
#define RECORD_WAIT_MS 10000    /* for kmd's ack of the command event */
#define ACTIVITY_EVERY_MS 2000  /* the idle clock (src/cli/sandbox-exec.ts ACTIVITY_EVERY_MS) */

/* ---------- growable buffers ---------- */

struct buf { char *p; size_t len, cap; };

static void need(struct buf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) { fputs("km: error: out of memory\n", stderr); exit(125); }
  b->p = p;
  b->cap = cap;
}

static void put(struct buf *b, const void *s, size_t n) {
  need(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(struct buf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---------- base64 ---------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_b64(struct buf *b, const unsigned char *s, size_t n) {
  need(b, (n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    char q[4] = { B64[v >> 18 & 63], B64[v >> 12 & 63], i + 1 < n ? B64[v >> 6 & 63] : '=', i + 2 < n ? B64[v & 63] : '=' };
    put(b, q, 4);
  }
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes base64 into out (appended); -1 when it is not base64. */
static int get_b64(struct buf *out, const char *s, size_t n) {
  if (n % 4 != 0) return -1;
  need(out, n / 4 * 3);
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    for (int j = 0; j < 4; j++) v[j] = s[i + j] == '=' && i + 4 == n && j >= 2 ? 0 : b64val((unsigned char)s[i + j]);
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) return -1;
    unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
    char o[3] = { (char)(x >> 16), (char)(x >> 8), (char)x };
    size_t k = s[i + 3] != '=' ? 3 : s[i + 2] != '=' ? 2 : 1;
    put(out, o, k);
  }
  return 0;
}

/* A list as kmd sends it: base64 of NUL-terminated items → a NULL-terminated vector (in out). */
static char **b64_list(struct buf *out, const char *s, size_t n) {
  if (get_b64(out, s, n) < 0 || (out->len > 0 && out->p[out->len - 1] != 0)) return NULL;
  size_t count = 0;
  for (size_t i = 0; i < out->len; i++) count += out->p[i] == 0;
  char **v = calloc(count + 1, sizeof *v);
  if (!v) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < out->len; i += strlen(out->p + i) + 1) v[k++] = out->p + i;
  return v;
}

/* ---------- JSON: the flat objects kmd sends (values: strings, numbers, booleans) ---------- */

struct jv { char key[24]; char type; struct buf s; double n; };
struct jobj { struct jv v[12]; int n; };

static const char *ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
  return p;
}

static void put_utf8(struct buf *b, unsigned c) {
  char o[4];
  if (c < 0x80) { o[0] = (char)c; put(b, o, 1); }
  else if (c < 0x800) { o[0] = (char)(0xc0 | c >> 6); o[1] = (char)(0x80 | (c & 63)); put(b, o, 2); }
  else if (c < 0x10000) { o[0] = (char)(0xe0 | c >> 12); o[1] = (char)(0x80 | (c >> 6 & 63)); o[2] = (char)(0x80 | (c & 63)); put(b, o, 3); }
  else { o[0] = (char)(0xf0 | c >> 18); o[1] = (char)(0x80 | (c >> 12 & 63)); o[2] = (char)(0x80 | (c >> 6 & 63)); o[3] = (char)(0x80 | (c & 63)); put(b, o, 4); }
}

static const char *jstring(const char *p, const char *e, struct buf *out) {
  if (p >= e || *p != '"') return NULL;
  for (p++; p < e && *p != '"'; p++) {
    if (*p != '\\') { put(out, p, 1); continue; }
    if (++p >= e) return NULL;
    switch (*p) {
      case 'n': put(out, "\n", 1); break;
      case 't': put(out, "\t", 1); break;
      case 'r': put(out, "\r", 1); break;
      case 'b': put(out, "\b", 1); break;
      case 'f': put(out, "\f", 1); break;
      case 'u': {
        if (e - p < 5) return NULL;
        char hex[5] = { p[1], p[2], p[3], p[4], 0 };
        unsigned c = (unsigned)strtoul(hex, NULL, 16);
        p += 4;
        if (c >= 0xd800 && c < 0xdc00 && e - p >= 7 && p[1] == '\\' && p[2] == 'u') {
          char lo[5] = { p[3], p[4], p[5], p[6], 0 };
          unsigned d = (unsigned)strtoul(lo, NULL, 16);
          if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); p += 6; }
        }
        put_utf8(out, c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
        break;
      }
      default: put(out, p, 1);
    }
  }
  return p < e ? p + 1 : NULL;
}

/* Skips any JSON value (nested ones included); NULL when malformed. */
static const char *jskip(const char *p, const char *e) {
  p = ws(p, e);
  if (p >= e) return NULL;
  if (*p == '"') {
    struct buf t = { 0 };
    p = jstring(p, e, &t);
    free(t.p);
    return p;
  }
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    p = ws(p + 1, e);
    if (p < e && *p == close) return p + 1;
    for (;;) {
      if (close == '}') {
        struct buf t = { 0 };
        p = jstring(ws(p, e), e, &t);
        free(t.p);
        if (!p || (p = ws(p, e)) >= e || *p++ != ':') return NULL;
      }
      if (!(p = jskip(p, e)) || (p = ws(p, e)) >= e) return NULL;
      if (*p == close) return p + 1;
      if (*p++ != ',') return NULL;
    }
  }
  while (p < e && strchr(",}] \t\r\n", *p) == NULL) p++;
  return p;
}

static void jfree(struct jobj *o) {
  for (int i = 0; i < o->n; i++) free(o->v[i].s.p);
  o->n = 0;
}

static int jparse(const char *p, size_t len, struct jobj *o) {
  const char *e = p + len;
  memset(o, 0, sizeof *o);
  p = ws(p, e);
  if (p >= e || *p++ != '{') return -1;
  p = ws(p, e);
  if (p < e && *p == '}') return 0;
  for (;;) {
    struct buf key = { 0 };
    p = jstring(ws(p, e), e, &key);
    if (!p || (p = ws(p, e)) >= e || *p++ != ':') { free(key.p); jfree(o); return -1; }
    p = ws(p, e);
    struct jv *v = o->n < 12 && key.len < sizeof o->v[0].key ? &o->v[o->n] : NULL;
    if (v && p < e && *p == '"') {
      memset(v, 0, sizeof *v);
      memcpy(v->key, key.p, key.len);
      v->type = 's';
      p = jstring(p, e, &v->s);
      if (!v->s.p) put(&v->s, "", 0);
      o->n++;
    } else if (v && p < e && (*p == '-' || (*p >= '0' && *p <= '9') || *p == 't' || *p == 'f')) {
      memset(v, 0, sizeof *v);
      memcpy(v->key, key.p, key.len);
      v->type = *p == 't' || *p == 'f' ? 'b' : 'n';
      v->n = *p == 't' ? 1 : *p == 'f' ? 0 : strtod(p, NULL);
      o->n++;
      p = jskip(p, e);
    } else {
      p = jskip(p, e);
    }
    free(key.p);
    if (!p || (p = ws(p, e)) >= e) { jfree(o); return -1; }
    if (*p == '}') return 0;
    if (*p++ != ',') { jfree(o); return -1; }
  }
}

static const struct jv *jget(const struct jobj *o, const char *key, char type) {
  for (int i = 0; i < o->n; i++) if (o->v[i].type == type && strcmp(o->v[i].key, key) == 0) return &o->v[i];
  return NULL;
}

/* ---------- the command line, fallback, paths ---------- */

static char *bin_km;      /* bin/km, run again with KM_CLIENT=0 to fall back */
static char **km_argv;    /* km's argv (km_argv[0] is the command) */
static int km_argc;
static int debug;         /* KM_CLIENT=debug */

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Runs the Node CLI with the same argv: nothing has been read or written yet. */
static void fallback(const char *why) {
  if (debug) fprintf(stderr, "km-client: running the Node CLI: %s\n", why);
  setenv("KM_CLIENT", "0", 1);
  char **av = calloc((size_t)km_argc + 2, sizeof *av);
  if (av) {
    av[0] = bin_km;
    for (int i = 0; i < km_argc; i++) av[i + 1] = km_argv[i];
    execv(bin_km, av);
  }
  fprintf(stderr, "km: error: cannot run %s: %s\n", bin_km, strerror(errno));
  exit(strcmp(km_argv[0], "exec") == 0 ? 125 : 1);
}

/* path.resolve of an absolute path: `.` and `..` and repeated or trailing slashes removed. */
static char *normalize(const char *path) {
  size_t n = strlen(path);
  char *out = malloc(n + 2);
  if (!out) return NULL;
  size_t len = 0;
  for (const char *p = path; *p;) {
    while (*p == '/') p++;
    const char *q = p;
    while (*q && *q != '/') q++;
    size_t k = (size_t)(q - p);
    if (k == 0 || (k == 1 && p[0] == '.')) { /* nothing */ }
    else if (k == 2 && p[0] == '.' && p[1] == '.') { while (len > 0 && out[--len] != '/') {} }
    else { out[len++] = '/'; memcpy(out + len, p, k); len += k; }
    p = q;
  }
  if (len == 0) out[len++] = '/';
  out[len] = 0;
  return out;
}

/* resolveStateDir (src/config/paths.ts) where it needs nothing of Node: KM_HOME, else $HOME/.km. */
static char *state_dir(void) {
  const char *h = getenv("KM_HOME");
  if (h && *h) return h[0] == '/' ? normalize(h) : NULL;
  const char *home = getenv("HOME");
  if (!home || home[0] != '/') return NULL;
  struct buf b = { 0 };
  puts_(&b, home);
  puts_(&b, "/.km");
  char *out = normalize(b.p);
  free(b.p);
  return out;
}

/* The installation root as kmd names it (INSTALL_ROOT: realpath, trailing slash). */
static char *install_root(void) {
  char *real = realpath(bin_km, NULL);
  if (!real) return NULL;
  for (int i = 0; i < 2; i++) {
    char *s = strrchr(real, '/');
    if (!s) { free(real); return NULL; }
    *s = 0;
  }
  struct buf b = { 0 };
  puts_(&b, real);
  puts_(&b, "/");
  free(real);
  return b.p;
}

/* ---------- the connection to kmd ---------- */

struct conn { int fd; struct buf in; size_t off; char *sock; };

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pf = { fd, POLLOUT, 0 };
      poll(&pf, 1, -1);
      continue;
    }
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_kmd(struct conn *c, const struct buf *b) {
  if (c->fd < 0) return -1;
  const char *p = b->p;
  size_t n = b->len;
  while (n > 0) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads more from kmd: 1 read, 0 end of stream, -1 error or timeout (ms; -1 waits). */
static int fill(struct conn *c, int timeout_ms) {
  struct pollfd pf = { c->fd, POLLIN, 0 };
  int r;
  do r = poll(&pf, 1, timeout_ms); while (r < 0 && errno == EINTR);
  if (r <= 0) return -1;
  need(&c->in, 65536);
  ssize_t n;
  do n = read(c->fd, c->in.p + c->in.len, 65536); while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  c->in.len += (size_t)n;
  c->in.p[c->in.len] = 0;
  return n > 0;
}

/* The next line from kmd (without its newline): 1, 0 at end of stream, -1 on error/timeout. */
static int next_line(struct conn *c, int timeout_ms, char **line, size_t *len) {
  for (;;) {
    char *start = c->in.p ? c->in.p + c->off : NULL;
    char *nl = start ? memchr(start, '\n', c->in.len - c->off) : NULL;
    if (nl) {
      *line = start;
      *len = (size_t)(nl - start);
      c->off += *len + 1;
      return 1;
    }
    if (c->off > 0) {
      memmove(c->in.p, c->in.p + c->off, c->in.len - c->off);
      c->in.len -= c->off;
      c->off = 0;
    }
    if (c->in.len > MAX_LINE) return -1;
    int r = fill(c, timeout_ms);
    if (r <= 0) return r;
  }
}

/* Connects and upgrades (GET path, Upgrade: proto) with `hello` as the first frame; NULL: fall back. */
static const char *open_session(struct conn *c, const char *path, const char *proto, const struct buf *hello) {
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (strlen(c->sock) >= sizeof a.sun_path) return "the kmd socket path is too long";
  strcpy(a.sun_path, c->sock);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) return "kmd is not running";
  struct buf req = { 0 };
  putf(&req, "GET %s HTTP/1.1\r\nhost: kmd\r\nconnection: Upgrade\r\n", path);
  putf(&req, "upgrade: %s\r\n\r\n", proto);
  put(&req, hello->p, hello->len);
  int sent = send_kmd(c, &req);
  free(req.p);
  if (sent < 0) return "kmd closed the connection";
  for (;;) {
    char *end = c->in.p ? strstr(c->in.p, "\r\n\r\n") : NULL;
    if (end) {
      if (strncmp(c->in.p, "HTTP/1.1 101 ", 13) != 0) return "kmd does not serve the native client";
      c->off = (size_t)(end + 4 - c->in.p);
      return NULL;
    }
    if (c->in.len > 8192 || fill(c, CONNECT_WAIT_MS) <= 0) return "kmd did not answer";
  }
}

static void put_list(struct buf *b, char **items, int n) {
  struct buf raw = { 0 };
  for (int i = 0; i < n; i++) put(&raw, items[i], strlen(items[i]) + 1);
  put_b64(b, (const unsigned char *)(raw.p ? raw.p : ""), raw.len);
  free(raw.p);
}

static void put_text(struct buf *b, const char *s) { put_b64(b, (const unsigned char *)s, strlen(s)); }

/* The fields every hello carries (src/daemon/client-hello.ts), after `{"t":"<type>"`. */
static void hello_common(struct buf *b, const char *type) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) fallback("no working directory");
  char *root = install_root();
  if (!root) fallback("cannot locate the installation");
  int n = 0;
  while (environ[n]) n++;
  putf(b, "{\"t\":\"%s\",\"argv\":\"", type);
  put_list(b, km_argv, km_argc);
  puts_(b, "\",\"environ\":\"");
  put_list(b, environ, n);
  puts_(b, "\",\"cwd\":\"");
  put_text(b, cwd);
  puts_(b, "\",\"install\":\"");
  put_text(b, root);
  putf(b, "\",\"uid\":%u", (unsigned)getuid());
  free(root);
}

/* ---------- km exec: flags (src/cli/commands/sandbox.ts) ---------- */

struct flag { const char *name; char shrt; int boolean; int multiple; };
static const struct flag EXEC_FLAGS[] = {
  { "root", 0, 1, 0 },
  { "env", 0, 0, 1 },
  { "workdir", 0, 0, 0 },
  { "tty", 't', 1, 0 },
};
#define NFLAGS (sizeof EXEC_FLAGS / sizeof EXEC_FLAGS[0])

static const char *const GLOBAL_FLAGS[] = { "--json", "--debug", "--no-color", "--help", "-h", "--version" };

/* parseOptions for exec, where it can only agree or fail; 0 with *tty set, else why not. */
static const char *parse_exec(int *tty) {
  int positional = 0, workdir = 0, rest = -1;
  *tty = 0;
  for (int i = 1; i < km_argc; i++) {
    const char *t = km_argv[i];
    if (strcmp(t, "--") == 0) { rest = i + 1; break; }
    for (size_t g = 0; g < sizeof GLOBAL_FLAGS / sizeof GLOBAL_FLAGS[0]; g++) if (strcmp(t, GLOBAL_FLAGS[g]) == 0) return "a global flag";
    if (strncmp(t, "--", 2) == 0 && t[2]) {
      const char *eq = strchr(t, '=');
      size_t len = eq ? (size_t)(eq - t - 2) : strlen(t + 2);
      const struct flag *f = NULL;
      for (size_t k = 0; k < NFLAGS; k++) if (strlen(EXEC_FLAGS[k].name) == len && strncmp(EXEC_FLAGS[k].name, t + 2, len) == 0) f = &EXEC_FLAGS[k];
      if (!f) return "a flag km-client does not know";
      if (f->boolean) {
        if (eq && strcmp(eq + 1, "true") != 0 && strcmp(eq + 1, "false") != 0) return "a bad boolean";
        if (strcmp(f->name, "tty") == 0) *tty = !eq || strcmp(eq + 1, "true") == 0;
      } else {
        if (!eq && ++i >= km_argc) return "a flag without its value";
        if (!f->multiple && workdir++) return "--workdir given twice";
      }
      continue;
    }
    if (t[0] == '-' && t[1] && !(t[1] >= '0' && t[1] <= '9')) {
      for (const char *l = t + 1; *l; l++) {
        if (*l != 't') return "a short flag km-client does not know";
        *tty = 1;
      }
      continue;
    }
    positional++;
  }
  if (positional != 1) return "not exactly one sandbox reference";
  if (rest < 0 || rest >= km_argc) return "no command after --";
  return NULL;
}

static void print_flags(void) {
  for (size_t k = 0; k < NFLAGS; k++) {
    const struct flag *f = &EXEC_FLAGS[k];
    printf("%s\t%s%c\t%s\t%s\n", f->name, f->shrt ? "-" : "", f->shrt ? f->shrt : '-', f->boolean ? "boolean" : "string", f->multiple ? "multiple" : "single");
  }
}

/* ---------- km exec: running the plan ---------- */

static struct termios saved_tty;
static int raw_mode;

/* Node's setRawMode(true) (libuv UV_TTY_MODE_RAW). */
static void set_raw(void) {
  struct termios t;
  if (tcgetattr(0, &saved_tty) < 0) return;
  t = saved_tty;
  t.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
  t.c_oflag |= ONLCR;
  t.c_cflag |= CS8;
  t.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(0, TCSADRAIN, &t) == 0) raw_mode = 1;
}

static void unset_raw(void) {
  if (raw_mode) tcsetattr(0, TCSADRAIN, &saved_tty);
  raw_mode = 0;
}

/*
 * descendants(launcher)[depth] (src/substrate/local/proctree.ts): breadth first, children in
 * /proc order. This kernel has no /proc/<pid>/task/<tid>/children, so every stat is read.
 */
static pid_t descendant(pid_t root, int depth) {
  size_t n = 0, cap = 1024;
  pid_t *pid = malloc(cap * sizeof *pid), *ppid = malloc(cap * sizeof *ppid);
  if (!pid || !ppid) return -1;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char *endp;
    long p = strtol(e->d_name, &endp, 10);
    if (*endp || p <= 0) continue;
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", p);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t k = read(fd, text, sizeof text - 1);
    close(fd);
    if (k <= 0) continue;
    text[k] = 0;
    char *rp = strrchr(text, ')');
    char state;
    int pp;
    if (!rp || sscanf(rp + 2, "%c %d", &state, &pp) != 2) continue;
    if (n == cap) {
      cap *= 2;
      pid = realloc(pid, cap * sizeof *pid);
      ppid = realloc(ppid, cap * sizeof *ppid);
      if (!pid || !ppid) return -1;
    }
    pid[n] = (pid_t)p;
    ppid[n++] = pp;
  }
  if (d) closedir(d);
  pid_t found = -1;
  pid_t *queue = malloc((n + 1) * sizeof *queue);
  size_t head = 0, tail = 0;
  if (queue) {
    for (size_t i = 0; i < n; i++) if (ppid[i] == root) queue[tail++] = pid[i];
    for (int k = 0; head < tail; k++) {
      pid_t cur = queue[head++];
      if (k == depth) { found = cur; break; }
      for (size_t i = 0; i < n && tail < n; i++) if (ppid[i] == cur) queue[tail++] = pid[i];
    }
  }
  free(queue);
  free(pid);
  free(ppid);
  return found;
}

static void forward(pid_t launcher, int depth, int sig) {
  pid_t target = descendant(launcher, depth);
  if (target <= 0 || kill(target, sig) < 0) kill(launcher, sig);
}

/* Relays one read of the command's stream `*fd` to `to`; closes it at its end. 1 when data moved. */
static int relay(int *fd, int to, int *to_ok) {
  char data[65536];
  ssize_t n;
  do n = read(*fd, data, sizeof data); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return 0;
  if (n <= 0) {
    close(*fd);
    *fd = -1;
    return 0;
  }
  // A reader of ours that went away: stop relaying, and the command's next write fails (EPIPE).
  if (*to_ok && write_all(to, data, (size_t)n) < 0) {
    *to_ok = 0;
    close(*fd);
    *fd = -1;
  }
  return 1;
}

static void send_frame(struct conn *k, const char *json) {
  struct buf b = { 0 };
  puts_(&b, json);
  puts_(&b, "\n");
  if (send_kmd(k, &b) < 0 && k->fd >= 0) {
    close(k->fd);
    k->fd = -1;
  }
  free(b.p);
}

static void die_by(int sig) {
  unset_raw();
  signal(sig, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  raise(sig);
  _exit(128 + sig);
}

static int start(char **argv, char **envp, int out, int err) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // As libuv starts a detached child: new session, default signals, nothing blocked.
    setsid();
    dup2(out, 1);
    dup2(err, 2);
    for (int s = 1; s < NSIG; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(argv[0], argv, envp);
    int e = errno;
    if (write(ep[1], &e, sizeof e) < 0) _exit(125);
    _exit(125);
  }
  close(ep[1]);
  int e;
  ssize_t r;
  do r = read(ep[0], &e, sizeof e); while (r < 0 && errno == EINTR);
  close(ep[0]);
  if (r == (ssize_t)sizeof e) {
    waitpid(pid, NULL, 0);
    return -1;
  }
  return pid;
}

/* Runs the launcher; returns the exit code per SPEC 8.9 (125 when it cannot start). */
static int run_plan(struct conn *k, char **argv, char **envp, int depth, int tty) {
  int out[2], err[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err) < 0) return 125;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int raw = tty && isatty(0);
  pid_t pid = start(argv, envp, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
    return 125;
  }
  if (raw) set_raw();
  int ofd = out[0], efd = err[0], out_ok = 1, err_ok = 1, exited = 0, status = 0;
  int64_t last = now_ms();
  while (!(exited && ofd < 0 && efd < 0)) {
    struct pollfd p[4] = { { sfd, POLLIN, 0 }, { ofd, POLLIN, 0 }, { efd, POLLIN, 0 }, { k->fd, POLLIN, 0 } };
    if (poll(p, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
          int st;
          if (waitpid(pid, &st, WNOHANG) == pid) { exited = 1; status = st; }
        } else if (raw && sig == SIGINT) {
          die_by(SIGINT); // Node has no SIGINT handler in raw mode: it resets the terminal and dies
        } else if (exited) {
          // The command is gone; a job it left holds the output open: stop waiting for it.
          if (ofd >= 0) close(ofd);
          if (efd >= 0) close(efd);
          ofd = efd = -1;
        } else {
          forward(pid, depth, sig);
        }
      }
    }
    int moved = 0;
    if (ofd >= 0 && p[1].revents) moved |= relay(&ofd, 1, &out_ok);
    if (efd >= 0 && p[2].revents) moved |= relay(&efd, 2, &err_ok);
    if (k->fd >= 0 && p[3].revents) {
      char junk[512];
      if (read(k->fd, junk, sizeof junk) <= 0) {
        close(k->fd); // kmd went away; it records the command with its exit unknown
        k->fd = -1;
      }
    }
    if (moved && now_ms() - last >= ACTIVITY_EVERY_MS) {
      last = now_ms();
      send_frame(k, "{\"t\":\"activity\"}");
    }
  }
  unset_raw();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

static int cmd_exec(struct conn *k) {
  int tty;
  const char *why = parse_exec(&tty);
  if (why) fallback(why);
  struct buf hello = { 0 };
  hello_common(&hello, "exec");
  putf(&hello, ",\"tty\":%s}\n", tty ? "true" : "false");
  if ((why = open_session(k, "/v1/exec", "km-exec", &hello))) fallback(why);
  free(hello.p);
  char *line;
  size_t len;
  struct jobj o;
  if (next_line(k, CONNECT_WAIT_MS, &line, &len) <= 0 || jparse(line, len, &o) < 0) fallback("kmd sent no plan");
  const struct jv *t = jget(&o, "t", 's'), *av = jget(&o, "argv", 's'), *ev = jget(&o, "env", 's'), *dv = jget(&o, "signal_depth", 'n');
  if (!t || strcmp(t->s.p, "plan") != 0) {
    const struct jv *r = jget(&o, "reason", 's');
    fallback(r ? r->s.p : "kmd refused");
  }
  struct buf ab = { 0 }, eb = { 0 };
  char **argv = av ? b64_list(&ab, av->s.p, av->s.len) : NULL;
  char **envp = ev ? b64_list(&eb, ev->s.p, ev->s.len) : NULL;
  if (!argv || !argv[0] || argv[0][0] != '/' || !envp || !dv) fallback("a malformed plan");
  int64_t t0 = now_ms();
  int code = run_plan(k, argv, envp, (int)dv->n, tty);
  struct buf fin = { 0 };
  putf(&fin, "{\"t\":\"exit\",\"code\":%d,\"duration_ms\":%lld}", code, (long long)(now_ms() - t0));
  send_frame(k, fin.p);
  // kmd answers once the command event is stored (or we hear nothing because it is gone).
  int64_t deadline = now_ms() + RECORD_WAIT_MS;
  while (k->fd >= 0 && now_ms() < deadline) {
    if (next_line(k, (int)(deadline - now_ms()), &line, &len) <= 0) break;
    if (len >= 16 && memmem(line, len, "\"recorded\"", 10)) break;
  }
  return code;
}

/* ---------- hosted commands: create, list, status ---------- */

static void put_tty(struct buf *b, const char *name, int fd) {
  struct winsize w = { 0 };
  int is = isatty(fd);
  if (is && ioctl(fd, TIOCGWINSZ, &w) < 0) memset(&w, 0, sizeof w);
  putf(b, ",\"%s_tty\":%s", name, is ? "true" : "false");
  if (is) putf(b, ",\"%s_cols\":%u,\"%s_rows\":%u", name, (unsigned)w.ws_col, name, (unsigned)w.ws_row);
}

static int cmd_hosted(struct conn *k) {
  struct buf hello = { 0 };
  hello_common(&hello, "cli");
  put_tty(&hello, "stdin", 0);
  put_tty(&hello, "stdout", 1);
  put_tty(&hello, "stderr", 2);
  puts_(&hello, "}\n");
  const char *why = open_session(k, "/v1/cli", "km-cli", &hello);
  if (why) fallback(why);
  free(hello.p);
  signal(SIGPIPE, SIG_IGN);
  int wrote = 0, ok[3] = { 0, 1, 1 };
  for (;;) {
    char *line;
    size_t len;
    struct jobj o;
    int r = next_line(k, -1, &line, &len);
    if (r <= 0 || jparse(line, len, &o) < 0) break;
    const struct jv *t = jget(&o, "t", 's');
    if (t && strcmp(t->s.p, "refused") == 0 && !wrote) {
      const struct jv *rv = jget(&o, "reason", 's');
      fallback(rv ? rv->s.p : "kmd does not host it");
    }
    if (t && strcmp(t->s.p, "exit") == 0) {
      const struct jv *c = jget(&o, "code", 'n');
      return c ? (int)c->n : 1;
    }
    const struct jv *d = jget(&o, "d", 's');
    int fd = t && strcmp(t->s.p, "o") == 0 ? 1 : t && strcmp(t->s.p, "e") == 0 ? 2 : 0;
    if (fd && d) {
      struct buf bytes = { 0 };
      if (get_b64(&bytes, d->s.p, d->s.len) == 0 && bytes.len > 0 && ok[fd] && write_all(fd, bytes.p, bytes.len) < 0) ok[fd] = 0;
      wrote = 1;
      free(bytes.p);
    }
    jfree(&o);
  }
  // Read-only commands can start over; a create that may have begun must not run twice.
  if (!wrote && strcmp(km_argv[0], "create") != 0) fallback("kmd closed the session");
  fprintf(stderr, "km: error: lost the connection to kmd on %s\n  hint: see km daemon status\n", k->sock);
  return 1;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--flags") == 0 && strcmp(argv[2], "exec") == 0) {
    print_flags();
    return 0;
  }
  if (argc < 3) {
    fputs("usage: km-client BIN_KM COMMAND [ARGS...]   (run by bin/km)\n", stderr);
    return 125;
  }
  bin_km = argv[1];
  km_argv = argv + 2;
  km_argc = argc - 2;
  const char *mode = getenv("KM_CLIENT");
  debug = mode && strcmp(mode, "debug") == 0;
  const char *cmd = km_argv[0];
  int exec = strcmp(cmd, "exec") == 0;
  if (!exec && strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0) fallback("not a command km-client serves");
  char *dir = state_dir();
  if (!dir) fallback("KM_HOME is relative, or HOME is not set");
  struct conn k = { .fd = -1 };
  struct buf sock = { 0 };
  puts_(&sock, strcmp(dir, "/") == 0 ? "" : dir);
  puts_(&sock, "/kmd.sock");
  k.sock = sock.p;
  return exec ? cmd_exec(&k) : cmd_hosted(&k);
}
