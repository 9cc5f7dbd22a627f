/*
 * km-setup: a local sandbox's setup steps as direct system calls. The steps come from one
 * list (src/substrate/local/setup-steps.ts) that renders either as a plan for this program
 * (setup-plan.ts) or, where it is not built, as the bash script of init-script.ts; both do
 * the same thing and report the same warnings and failures.
 *
 *   km-setup PLAN-FILE                       inside the sandbox: bwrap's child (PID 2)
 *   km-setup --host PLAN -- command [args]   host side of a root kmd, then exec the command
 *   km-setup --parse PLAN-FILE               print the parsed steps, one JSON array a line
 *
 * Plan: the line `km-setup 1`, then one step a line, fields separated by tabs (no field is
 * empty and none can hold a tab or a newline: the generator refuses such values). Field 1 is
 * the op, field 2 what a failure means: `-` fatal, `warn:<text>`, `fail:<text>` or `ignore`.
 *
 * Inside, every target is a path in the sandbox root, resolved with openat2(RESOLVE_IN_ROOT)
 * from the root mount: a symlink in a base image, an operator mount or a layer the workload
 * wrote at an earlier start resolves as it would inside the sandbox and never reaches the
 * setup view (host root, state dir). Mounts use the fd-based mount API: read-only comes from
 * mount_setattr(2), which only adds flags, so the nosuid/nodev/noexec a user namespace locks
 * on a bind source are always kept. Messages match the bash renderer's: `km-init: warning:
 * …`, `km-init: error: …` in sandbox.log and `failed …` on the status pipe (fd 3).
 *
 * Host side (root kmd; kmd runs this as host root): create the two-id user namespace, start
 * the tree directly in its v2 cgroup (clone3 CLONE_INTO_CGROUP: writing cgroup.procs waits
 * for an RCU grace period, 10-20 ms) while this process stays as its waiter, join v1
 * cgroups, stage the host sources in a private mount namespace, switch to the tree's host
 * ids and exec bwrap. Any failure exits 125.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#define MAX_FIELDS 64
#define MAX_STEPS 4096
#define MAX_PLAN (4 << 20)
#define STATUS_FD 3

struct step {
  char *f[MAX_FIELDS];
  int n;
  int no;
};

static struct step steps[MAX_STEPS];
static int nsteps;
static bool host_mode;
static int rootfd = -1;
static char root_path[PATH_MAX];
static int devnull = -1;
static pid_t nft_pid = -1;
static pid_t holder = -1;
static int capture;

/* ---- messages ---- */

static _Noreturn void fail_text(const char *text) {
  fprintf(stderr, "%s: error: %s\n", host_mode ? "km-setup" : "km-init", text);
  dprintf(STATUS_FD, "failed %s\n", text);
  exit(host_mode ? 125 : 1);
}

static void warn_text(const char *text) { fprintf(stderr, "km-init: warning: %s\n", text); }

/* A failed step: its detail line (what the bash renderer's tool would print), then its policy. */
static void step_failed(const struct step *s, const char *what, int err) {
  const char *policy = s->f[1];
  if (strcmp(policy, "ignore") == 0) return;
  fprintf(stderr, "km-setup: %s: %s\n", what, strerror(err));
  if (strncmp(policy, "warn:", 5) == 0) {
    warn_text(policy + 5);
    return;
  }
  if (strncmp(policy, "fail:", 5) == 0) fail_text(policy + 5);
  char text[PATH_MAX + 128];
  snprintf(text, sizeof text, "setup step failed at step %d (%s): %s", s->no, what, strerror(err));
  fail_text(text);
}

/* ---- plan ---- */

static char *read_all(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *buf = malloc(MAX_PLAN + 1);
  size_t len = 0;
  ssize_t n;
  while (buf && len < MAX_PLAN && (n = read(fd, buf + len, MAX_PLAN - len)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      free(buf);
      buf = NULL;
      break;
    }
    len += (size_t)n;
  }
  close(fd);
  if (!buf) return NULL;
  if (len == MAX_PLAN || memchr(buf, '\0', len)) {
    free(buf);
    errno = EINVAL;
    return NULL;
  }
  buf[len] = '\0';
  return buf;
}

/* Splits the plan in place; a malformed plan is refused as a whole. */
static const char *parse_plan(char *text) {
  char *line = text;
  char *nl = strchr(line, '\n');
  if (!nl) return "no header line";
  *nl = '\0';
  if (strcmp(line, "km-setup 1") != 0) return "not a km-setup 1 plan";
  for (line = nl + 1; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    if (!nl) return "the last line has no newline";
    *nl = '\0';
    if (nsteps == MAX_STEPS) return "too many steps";
    struct step *s = &steps[nsteps];
    s->no = ++nsteps;
    for (char *p = line;;) {
      if (s->n == MAX_FIELDS) return "too many fields";
      char *tab = strchr(p, '\t');
      if (tab) *tab = '\0';
      if (*p == '\0') return "empty field";
      s->f[s->n++] = p;
      if (!tab) break;
      p = tab + 1;
    }
    if (s->n < 2) return "a step needs an op and a failure policy";
    const char *pol = s->f[1];
    if (strcmp(pol, "-") && strcmp(pol, "ignore") && strncmp(pol, "warn:", 5) && strncmp(pol, "fail:", 5)) return "unknown failure policy";
  }
  return NULL;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* ---- small helpers ---- */

static bool is_abs(const char *p) { return p[0] == '/'; }

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, text, strlen(text));
  int e = n < 0 ? errno : (size_t)n == strlen(text) ? 0 : EIO;
  close(fd);
  return e;
}

static int parse_id(const char *s, unsigned long max, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || end == s || v > max) return EINVAL;
  *out = v;
  return 0;
}

/* Mount attributes from `ro,nosuid,nodev,noexec` plus the step flags `rec` and `optional`. */
struct attrs {
  uint64_t set;
  bool rec;
  bool optional;
};

static int parse_attrs(const char *list, struct attrs *a) {
  memset(a, 0, sizeof *a);
  if (strcmp(list, "-") == 0) return 0;
  char buf[256];
  if (strlen(list) >= sizeof buf) return EINVAL;
  strcpy(buf, list);
  for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    if (!strcmp(w, "ro")) a->set |= MOUNT_ATTR_RDONLY;
    else if (!strcmp(w, "nosuid")) a->set |= MOUNT_ATTR_NOSUID;
    else if (!strcmp(w, "nodev")) a->set |= MOUNT_ATTR_NODEV;
    else if (!strcmp(w, "noexec")) a->set |= MOUNT_ATTR_NOEXEC;
    else if (!strcmp(w, "rec")) a->rec = true;
    else if (!strcmp(w, "optional")) a->optional = true;
    else return EINVAL;
  }
  return 0;
}

/* ---- paths inside the sandbox root ---- */

/*
 * Errors that mean "not there" to `[ -e PATH ]`: what the setup cannot reach, the workload
 * (with fewer rights in the same root) cannot reach either.
 */
static bool absent(int e) { return e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG; }

static int in_root(const char *path, int flags, mode_t mode) {
  if (rootfd < 0 || !is_abs(path)) {
    errno = rootfd < 0 ? EBADF : EINVAL;
    return -1;
  }
  const char *rel = path + 1;
  while (*rel == '/') rel++;
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
}

/* mkdir -p inside the root: every prefix resolved in the root, each directory made by name. */
static int mkdir_p(const char *path) {
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) return ENAMETOOLONG;
  strcpy(buf, path);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char c = *p;
    *p = '\0';
    if (p[-1] != '/') {
      int fd = in_root(buf, O_PATH | O_DIRECTORY, 0);
      if (fd < 0 && errno == ENOENT) {
        char *slash = strrchr(buf, '/');
        *slash = '\0';
        int parent = in_root(slash == buf ? "/" : buf, O_PATH | O_DIRECTORY, 0);
        *slash = '/';
        if (parent < 0) return errno;
        int r = mkdirat(parent, slash + 1, 0777);
        int e = errno;
        close(parent);
        if (r < 0 && e != EEXIST) return e;
        fd = in_root(buf, O_PATH | O_DIRECTORY, 0);
      }
      if (fd < 0) return errno;
      close(fd);
    }
    *p = c;
    if (c == '\0') return 0;
  }
}

/* ---- mounts (fd-based API) ---- */

static int attach(int tree, int target) {
  return move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0 ? errno : 0;
}

/* A bind of `source` (a setup-view path) with attributes, onto the open target. */
static int bind_onto(const char *source, int target, const struct attrs *a) {
  int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (a->rec ? AT_RECURSIVE : 0));
  if (tree < 0) return errno;
  int e = 0;
  if (a->set) {
    struct mount_attr ma = { .attr_set = a->set };
    if (mount_setattr(tree, "", AT_EMPTY_PATH | (a->rec ? AT_RECURSIVE : 0), &ma, sizeof ma) < 0) e = errno;
  }
  if (!e) e = attach(tree, target);
  close(tree);
  return e;
}

/* Prints what the filesystem said about a failed configuration (overlayfs explains itself). */
static void fs_log(int fs) {
  char buf[512];
  ssize_t n;
  while ((n = read(fs, buf, sizeof buf - 1)) > 0) {
    buf[n] = '\0';
    fprintf(stderr, "km-setup: %s\n", buf);
  }
}

/* overlayfs splits lowerdir on ':' and unescapes every layer option: escape '\', ':' and ','. */
static void escape_layer(const char *in, char *out, size_t size) {
  size_t o = 0;
  for (; *in && o + 2 < size; in++) {
    if (*in == '\\' || *in == ':' || *in == ',') out[o++] = '\\';
    out[o++] = *in;
  }
  out[o] = '\0';
}

/* A new filesystem: options `k=v` or flags, comma separated (`-` for none). */
static int new_fs(const char *fstype, const char *source, const char *data, uint64_t attrs, const char *const *layers, int target) {
  int fs = fsopen(fstype, FSOPEN_CLOEXEC);
  if (fs < 0) return errno;
  int e = 0;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0) e = errno;
  if (!e && strcmp(data, "-") != 0) {
    char buf[1024];
    if (strlen(data) >= sizeof buf) e = EINVAL;
    else strcpy(buf, data);
    for (char *save = NULL, *w = e ? NULL : strtok_r(buf, ",", &save); w && !e; w = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(w, '=');
      if (eq) *eq = '\0';
      int r = eq ? fsconfig(fs, FSCONFIG_SET_STRING, w, eq + 1, 0) : fsconfig(fs, FSCONFIG_SET_FLAG, w, NULL, 0);
      if (r < 0) e = errno;
    }
  }
  for (int i = 0; layers && layers[i] && !e; i += 2) {
    char esc[2 * PATH_MAX];
    escape_layer(layers[i + 1], esc, sizeof esc);
    if (fsconfig(fs, FSCONFIG_SET_STRING, layers[i], esc, 0) < 0) e = errno;
  }
  if (!e && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) e = errno;
  if (e) {
    fs_log(fs);
    close(fs);
    return e;
  }
  int m = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)attrs);
  e = m < 0 ? errno : attach(m, target);
  if (m >= 0) close(m);
  close(fs);
  return e;
}

/* ---- capabilities ---- */

static int last_cap(void) {
  static int last = -1;
  if (last >= 0) return last;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  if (!f || fscanf(f, "%d", &last) != 1) last = 63;
  if (f) fclose(f);
  return last;
}

/*
 * What `setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all[,+keep]
 * --no-new-privs` does: the next exec as root gets only `keep` (or nothing), as anyone else
 * nothing.
 */
static int drop_caps(int keep) {
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return errno;
  d[0].inheritable = d[1].inheritable = 0;
  if (syscall(SYS_capset, &h, d) < 0) return errno;
  for (int c = 0; c <= last_cap(); c++) {
    if (c != keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) return errno;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return errno;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
  return 0;
}

/* ---- children ---- */

/*
 * Forks a child with stdin (and stderr if `quiet`) on /dev/null. Every fd of this program is
 * close-on-exec, so the child's program sees only stdio.
 */
static pid_t fork_child(bool quiet) {
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    dup2(devnull, 0);
    if (quiet) dup2(devnull, 2);
  }
  return pid;
}

static int wait_status(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_wait(char *const argv[]) {
  pid_t pid = fork_child(true);
  if (pid < 0) return -1;
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  return wait_status(pid);
}

/* ---- network (rtnetlink) ---- */

struct nlreq {
  struct nlmsghdr h;
  union {
    struct ifinfomsg i;
    struct ifaddrmsg a;
    struct rtmsg r;
  };
  char attrs[128];
};

static void nl_attr(struct nlreq *q, unsigned short type, const void *data, size_t len) {
  struct rtattr *rta = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->h.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), data, len);
  q->h.nlmsg_len = NLMSG_ALIGN(q->h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int nl_call(struct nlreq *q) {
  static int fd = -1;
  static unsigned seq;
  if (fd < 0 && (fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0) return errno;
  q->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  q->h.nlmsg_seq = ++seq;
  struct sockaddr_nl to = { .nl_family = AF_NETLINK };
  if (sendto(fd, q, q->h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to) < 0) return errno;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq == seq && r->nlmsg_type == NLMSG_ERROR) return -((struct nlmsgerr *)NLMSG_DATA(r))->error;
    }
  }
}

static void nl_init(struct nlreq *q, unsigned short type, unsigned short flags, size_t body) {
  memset(q, 0, sizeof *q);
  q->h.nlmsg_len = (unsigned)NLMSG_LENGTH(body);
  q->h.nlmsg_type = type;
  q->h.nlmsg_flags = flags;
}

static int lo_index(void) {
  unsigned i = if_nametoindex("lo");
  return i ? (int)i : 1;
}

static int link_up(void) {
  struct nlreq q;
  nl_init(&q, RTM_NEWLINK, 0, sizeof q.i);
  q.i.ifi_family = AF_UNSPEC;
  q.i.ifi_index = lo_index();
  q.i.ifi_flags = IFF_UP;
  q.i.ifi_change = IFF_UP;
  return nl_call(&q);
}

/* `ip addr add ADDR/32 dev lo` */
static int addr_add(struct in_addr a) {
  struct nlreq q;
  nl_init(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof q.a);
  q.a.ifa_family = AF_INET;
  q.a.ifa_prefixlen = 32;
  q.a.ifa_index = (unsigned)lo_index();
  nl_attr(&q, IFA_LOCAL, &a, sizeof a);
  nl_attr(&q, IFA_ADDRESS, &a, sizeof a);
  return nl_call(&q);
}

/* `ip route add default dev lo src ADDR` (add) or `ip route del default` (del). */
static int default_route(bool add, struct in_addr src) {
  struct nlreq q;
  nl_init(&q, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof q.r);
  q.r.rtm_family = AF_INET;
  q.r.rtm_table = RT_TABLE_MAIN;
  if (add) {
    int oif = lo_index();
    q.r.rtm_protocol = RTPROT_BOOT;
    q.r.rtm_scope = RT_SCOPE_LINK;
    q.r.rtm_type = RTN_UNICAST;
    nl_attr(&q, RTA_OIF, &oif, sizeof oif);
    nl_attr(&q, RTA_PREFSRC, &src, sizeof src);
  } else {
    q.r.rtm_scope = RT_SCOPE_NOWHERE;
  }
  return nl_call(&q);
}

/* ---- sandbox steps ---- */

typedef int (*op_fn)(struct step *s, char *what, size_t wlen);

/* root SOURCE ROOT: the sandbox root (a plain bind), and the fd every target resolves from. */
static int op_root(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "bind %s on %s", s->f[2], s->f[3]);
  if (!is_abs(s->f[2]) || !is_abs(s->f[3]) || strlen(s->f[3]) >= sizeof root_path) return EINVAL;
  int t = open(s->f[3], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0) return errno;
  struct attrs none = { 0 };
  int e = bind_onto(s->f[2], t, &none);
  close(t);
  if (e) return e;
  strcpy(root_path, s->f[3]);
  rootfd = open(root_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return rootfd < 0 ? errno : 0;
}

/* bind ATTRS SOURCE TARGET (`optional`: nothing when the target does not exist) */
static int op_bind(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "bind %s on %s", s->f[3], s->f[4]);
  struct attrs a;
  if (parse_attrs(s->f[2], &a) || !is_abs(s->f[3])) return EINVAL;
  int t = in_root(s->f[4], O_PATH, 0);
  if (t < 0) return a.optional && absent(errno) ? 0 : errno;
  int e = bind_onto(s->f[3], t, &a);
  close(t);
  return e;
}

/* fs FSTYPE SOURCE ATTRS DATA TARGET */
static int op_fs(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "mount %s on %s", s->f[2], s->f[6]);
  struct attrs a;
  if (parse_attrs(s->f[4], &a) || a.rec || a.optional) return EINVAL;
  int t = in_root(s->f[6], O_PATH | O_DIRECTORY, 0);
  if (t < 0) return errno;
  int e = new_fs(s->f[2], s->f[3], s->f[5], a.set, NULL, t);
  close(t);
  return e;
}

/* overlay SOURCE LOWER UPPER WORK TARGET (userxattr: the layers are a user namespace's) */
static int op_overlay(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "overlay %s on %s", s->f[2], s->f[6]);
  for (int i = 3; i <= 5; i++) {
    if (!is_abs(s->f[i])) return EINVAL;
  }
  int t = in_root(s->f[6], O_PATH | O_DIRECTORY, 0);
  if (t < 0) return errno;
  const char *layers[] = { "lowerdir", s->f[3], "upperdir", s->f[4], "workdir", s->f[5], NULL };
  int e = new_fs("overlay", s->f[2], "userxattr", 0, layers, t);
  close(t);
  return e;
}

/* mask TARGET: a directory gets an empty read-only tmpfs (mode 000), anything else /dev/null. */
static int op_mask(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "mask %s", s->f[2]);
  int t = in_root(s->f[2], O_PATH, 0);
  if (t < 0) return absent(errno) ? 0 : errno;
  struct stat st;
  int e = fstat(t, &st) < 0 ? errno : 0;
  if (!e && S_ISDIR(st.st_mode)) {
    e = new_fs("tmpfs", "km-mask", "size=4k,mode=000", MOUNT_ATTR_RDONLY, NULL, t);
  } else if (!e) {
    struct attrs none = { 0 };
    e = bind_onto("/dev/null", t, &none);
  }
  close(t);
  return e;
}

static int op_mkdir(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "mkdir -p %s", s->f[2]);
  return mkdir_p(s->f[2]);
}

/* chmod MODE TARGET (octal), through the fd so that the resolved file is the one changed */
static int op_chmod(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "chmod %s %s", s->f[2], s->f[3]);
  char *end;
  unsigned long mode = strtoul(s->f[2], &end, 8);
  if (*end || mode > 07777) return EINVAL;
  int t = in_root(s->f[3], O_PATH, 0);
  if (t < 0) return errno;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", t);
  int e = chmod(proc, (mode_t)mode) < 0 ? errno : 0;
  close(t);
  return e;
}

/* etc ATTRS SOURCE TARGET WARNING: only onto a regular file that is not a symlink. */
static int op_etc(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "bind %s on %s", s->f[3], s->f[4]);
  struct attrs a;
  if (parse_attrs(s->f[2], &a) || !is_abs(s->f[3])) return EINVAL;
  int t = in_root(s->f[4], O_PATH | O_NOFOLLOW, 0);
  struct stat st;
  if (t < 0 || fstat(t, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (t >= 0) close(t);
    warn_text(s->f[5]);
    return 0;
  }
  int e = bind_onto(s->f[3], t, &a);
  close(t);
  return e;
}

/*
 * trust CA TARGET BUNDLE: where the base allows it (imported images), the CA joins the
 * system trust store and the system bundle. Best effort; never through a symlink's last
 * component.
 */
static int op_trust(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "trust %s", s->f[3]);
  char *ca = read_all(s->f[2]);
  if (!ca) return errno;
  int t = in_root(s->f[3], O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
  if (t < 0) {
    free(ca);
    return 0;
  }
  size_t len = strlen(ca);
  bool copied = write(t, ca, len) == (ssize_t)len;
  close(t);
  int b = copied ? in_root(s->f[4], O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, 0644) : -1;
  if (b >= 0) {
    /* The CA's first base64 line identifies it (the bash renderer greps for the same line). */
    char *l2 = strchr(ca, '\n');
    char *l2end = l2 ? strchr(l2 + 1, '\n') : NULL;
    char *have = NULL;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", b);
    if (l2end) {
      *l2end = '\0';
      have = read_all(proc);
    }
    bool present = have && l2end && strstr(have, l2 + 1);
    if (l2end) *l2end = '\n';
    if (!present && write(b, ca, len) < 0) fprintf(stderr, "km-setup: appending to %s: %s\n", s->f[4], strerror(errno));
    free(have);
    close(b);
  }
  free(ca);
  return 0;
}

static int op_lo_up(struct step *s, char *what, size_t wlen) {
  (void)s;
  snprintf(what, wlen, "ip link set lo up");
  return link_up();
}

/*
 * capture ADDR RULES: a second lo address, `default dev lo src ADDR`, and the nftables ruleset
 * (nft was started with the plan, in parallel with the mounts). Any failure undoes the route
 * and the ruleset and reports the step's policy (a warning: no capture).
 */
static int op_capture(struct step *s, char *what, size_t wlen) {
  struct in_addr a;
  snprintf(what, wlen, "transparent capture via %s", s->f[2]);
  if (inet_pton(AF_INET, s->f[2], &a) != 1) return EINVAL;
  int e = addr_add(a);
  if (!e) e = default_route(true, a);
  int st = nft_pid > 0 ? wait_status(nft_pid) : -1;
  nft_pid = -1;
  if (!e && st != 0) {
    snprintf(what, wlen, "nft -f %s exited %d", s->f[3], st);
    e = ENOEXEC;
  }
  if (!e) {
    capture = 1;
    return 0;
  }
  default_route(false, a);
  char *flush[] = { "nft", "flush", "ruleset", NULL };
  run_wait(flush);
  return e;
}

/* The bridges started, by the address each one listens on (`ready` waits for all of them). */
#define MAX_BRIDGES 16
static struct { bool udp; char local[16]; const char *name; } bridges[MAX_BRIDGES];
static int nbridges;

/* tcp|udp:IPV4:PORT as /proc/net/{tcp,udp} print a local address: 0100007F:0C38. */
static int parse_listen(const char *spec, bool *udp, char *local, size_t llen) {
  char ip[INET_ADDRSTRLEN];
  unsigned port;
  struct in_addr a;
  if (strncmp(spec, "tcp:", 4) == 0) *udp = false;
  else if (strncmp(spec, "udp:", 4) == 0) *udp = true;
  else return EINVAL;
  const char *colon = strrchr(spec + 4, ':');
  if (!colon || (size_t)(colon - spec - 4) >= sizeof ip) return EINVAL;
  memcpy(ip, spec + 4, (size_t)(colon - spec - 4));
  ip[colon - spec - 4] = '\0';
  if (inet_pton(AF_INET, ip, &a) != 1 || sscanf(colon + 1, "%5u", &port) != 1 || port == 0 || port > 65535) return EINVAL;
  snprintf(local, llen, "%08X:%04X", (unsigned)a.s_addr, port);
  return 0;
}

/* bridge KEEP WHEN LISTEN ARGV…: a cap-less (or NET_BIND_SERVICE-only) background process. */
static int op_bridge(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "start %s", s->f[5]);
  bool always = strcmp(s->f[3], "always") == 0;
  if (!always && strcmp(s->f[3], "capture") != 0) return EINVAL;
  if (strcmp(s->f[2], "-") != 0 && strcmp(s->f[2], "net_bind_service") != 0) return EINVAL;
  if (nbridges == MAX_BRIDGES) return E2BIG;
  if (parse_listen(s->f[4], &bridges[nbridges].udp, bridges[nbridges].local, sizeof bridges[nbridges].local)) return EINVAL;
  if (!always && !capture) return 0;
  int keep = strcmp(s->f[2], "-") == 0 ? -1 : CAP_NET_BIND_SERVICE;
  pid_t pid = fork_child(true);
  if (pid < 0) return errno;
  if (pid == 0) {
    if (drop_caps(keep) == 0) execvp(s->f[5], &s->f[5]);
    _exit(127);
  }
  bridges[nbridges++].name = s->f[4];
  return 0;
}

/* Is LOCAL (as /proc/net prints it) bound in this network namespace, listening when TCP? */
static bool bound(bool udp, const char *local) {
  FILE *f = fopen(udp ? "/proc/self/net/udp" : "/proc/self/net/tcp", "re");
  if (!f) return false;
  char line[512], addr[32], st[8];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    if (sscanf(line, " %*d: %31s %*s %7s", addr, st) == 2 && strcmp(addr, local) == 0) found = udp || strcmp(st, "0A") == 0;
  }
  fclose(f);
  return found;
}

/* The first bridge started that is not listening yet, or -1. */
static int missing_bridge(void) {
  for (int i = 0; i < nbridges; i++) {
    if (!bound(bridges[i].udp, bridges[i].local)) return i;
  }
  return -1;
}

/* Every bridge started is listening (up to 5 s, like the holder): a workload's first connection never meets a closed port. */
static int bridges_listening(char *what, size_t wlen) {
  for (int i = 0; i < 2500 && missing_bridge() >= 0; i++) nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
  int m = missing_bridge();
  if (m < 0) return 0;
  snprintf(what, wlen, "bridge %s not listening after 5 s", bridges[m].name);
  return ETIMEDOUT;
}

static bool zero_hex(const char *v) {
  if (!*v) return false;
  for (; *v; v++) {
    if (*v != '0') return false;
  }
  return true;
}

/* The holder is in place: no effective capabilities, and uid 1000 (dual) or its own user namespace. */
static bool holder_ready(bool dual, const char *uid) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/proc/%d/status", root_path, holder);
  FILE *f = fopen(path, "re");
  if (!f) return false;
  char line[256], caps[64] = "x", ruid[32] = "x";
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "CapEff: %63s", caps) == 1) continue;
    sscanf(line, "Uid: %31s", ruid);
  }
  fclose(f);
  if (!zero_hex(caps)) return false;
  if (dual) return strcmp(ruid, uid) == 0;
  char self[PATH_MAX + 64];
  struct stat a, b;
  snprintf(path, sizeof path, "%s/proc/%d/ns/user", root_path, holder);
  snprintf(self, sizeof self, "%s/proc/self/ns/user", root_path);
  if (stat(path, &a) < 0 || stat(self, &b) < 0) return false;
  return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

static int max_userns(const char *value) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/proc/sys/user/max_user_namespaces", root_path);
  return write_file(path, value);
}

/* The holder child; reports an errno on `report` if it cannot become the holder. */
static _Noreturn void become_holder(bool dual, uid_t id, int report) {
  int e = 0;
  char map[64];
  snprintf(map, sizeof map, "%u 0 1\n", id);
  if (dual) {
    /* uid 1000 lives in this namespace: no nested namespace is needed, so none may be made. */
    if ((e = drop_caps(-1)) == 0 && (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)) e = errno;
  } else if (unshare(CLONE_NEWUSER) < 0) {
    e = errno;
  } else if (!(e = write_file("/proc/self/setgroups", "deny")) && !(e = write_file("/proc/self/uid_map", map)) &&
             !(e = write_file("/proc/self/gid_map", map)) && !(e = max_userns("0"))) {
    e = drop_caps(-1);
  }
  /* Every standard stream on /dev/null: the workload (the holder's uid) may ptrace the holder,
   * so anything it holds open is the workload's too (sandbox.log, a host file, was). */
  if (!e && (dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)) e = errno;
  if (!e) {
    char *argv[] = { "sleep", "infinity", NULL };
    execvp(argv[0], argv);
    e = errno;
  }
  if (write(report, &e, sizeof e) < 0) _exit(126);
  _exit(126);
}

/*
 * holder dual|nested UID: the process that holds the workload's user namespace. Unprivileged
 * kmd: a nested namespace mapping 0 → UID with its own limit set to 0, then the outer limit set
 * to 1 (the holder's); root kmd: a cap-less `sleep` as UID and an outer limit of 0.
 */
static int op_holder(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "workload holder");
  bool dual = strcmp(s->f[2], "dual") == 0;
  unsigned long id;
  if ((!dual && strcmp(s->f[2], "nested") != 0) || parse_id(s->f[3], 65534, &id)) return EINVAL;
  int e;
  if (dual && (e = max_userns("0")) != 0) return e;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  holder = fork_child(false);
  if (holder < 0) return errno;
  if (holder == 0) become_holder(dual, (uid_t)id, p[1]);
  close(p[1]);
  ssize_t n;
  int child_err = 0;
  while ((n = read(p[0], &child_err, sizeof child_err)) < 0 && errno == EINTR) {
  }
  close(p[0]);
  if (n > 0) return child_err ? child_err : EPROTO;
  /* exec'd: its status shows the result within microseconds; give it up to 5 s like the bash path. */
  for (int i = 0; i < 2500 && !holder_ready(dual, s->f[3]); i++) {
    if (waitpid(holder, NULL, WNOHANG) == holder) return ECHILD;
    nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
  }
  if (!holder_ready(dual, s->f[3])) return ETIMEDOUT;
  return dual ? 0 : max_userns("1");
}

/* pivot_root into the new root and detach the setup view. */
static int op_pivot(struct step *s, char *what, size_t wlen) {
  (void)s;
  snprintf(what, wlen, "pivot_root %s", root_path);
  if (chdir(root_path) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) return errno;
  close(rootfd);
  rootfd = -1;
  return 0;
}

/* ready: once every bridge listens, report the holder and capture on fd 3, then become a cap-less waiter on the holder. */
static int op_ready(struct step *s, char *what, size_t wlen) {
  (void)s;
  snprintf(what, wlen, "ready");
  if (holder <= 0) return ESRCH;
  int e = bridges_listening(what, wlen);
  if (e) return e;
  if (dprintf(STATUS_FD, "ready %d %d\n", holder, capture) < 0) return errno;
  close(STATUS_FD);
  signal(SIGPIPE, SIG_DFL);
  e = drop_caps(-1);
  if (e) return e;
  char pid[32];
  snprintf(pid, sizeof pid, "--pid=%d", holder);
  char *argv[] = { "tail", pid, "-f", "/dev/null", NULL };
  execvp(argv[0], argv);
  return errno;
}

/* ---- host steps (root kmd) ---- */

/* userns FD UID GID INNER-UID SANDBOX-ID: the two-id user namespace, open at FD for bwrap. */
static int op_userns(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "user namespace for %s", s->f[3]);
  unsigned long fd, u, g, inner, sb;
  if (parse_id(s->f[2], 1023, &fd) || fd <= STATUS_FD + 1 || parse_id(s->f[3], UINT32_MAX - 1, &u) || parse_id(s->f[4], UINT32_MAX - 1, &g) ||
      parse_id(s->f[5], UINT32_MAX - 1, &inner) || parse_id(s->f[6], UINT32_MAX - 1, &sb)) return EINVAL;
  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) < 0) return errno;
  if (pipe2(down, O_CLOEXEC) < 0) return errno;
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    /* The namespace's owner is the tree's host uid, which lets bwrap (running as it) join it. */
    char c = 1;
    close(up[0]);
    close(down[1]);
    if (setgroups(0, NULL) < 0 || setresgid((gid_t)g, (gid_t)g, (gid_t)g) < 0 || setresuid((uid_t)u, (uid_t)u, (uid_t)u) < 0 ||
        unshare(CLONE_NEWUSER) < 0) _exit(1);
    if (write(up[1], &c, 1) != 1) _exit(1);
    while (read(down[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  char c, path[64], map[128];
  int e = read(up[0], &c, 1) == 1 ? 0 : EPROTO;
  snprintf(map, sizeof map, "0 %lu 1\n%lu %lu 1\n", u, inner, sb);
  snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
  if (!e) e = write_file(path, map);
  snprintf(map, sizeof map, "0 %lu 1\n%lu %lu 1\n", g, inner, sb);
  snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
  if (!e) e = write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  int ns = e ? -1 : open(path, O_RDONLY | O_CLOEXEC);
  if (!e && ns < 0) e = errno;
  /* The fd keeps the namespace; the process that made it is done. Pipes go before the dup2. */
  close(down[1]);
  close(up[0]);
  wait_status(pid);
  if (!e && ns != (int)fd && dup2(ns, (int)fd) < 0) e = errno;
  if (ns >= 0 && ns != (int)fd) close(ns);
  else if (ns == (int)fd) fcntl(ns, F_SETFD, 0);
  return e;
}

static pid_t waited;

static void forward(int sig) {
  if (waited > 0) kill(waited, sig);
}

/* Waits for the tree's first process and leaves with its status (a signal is re-raised). */
static _Noreturn void wait_for_tree(pid_t pid, const sigset_t *old) {
  waited = pid;
  close_range(STATUS_FD, ~0U, 0);
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
  sigprocmask(SIG_SETMASK, old, NULL);
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) _exit(125);
  }
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st));
  signal(WTERMSIG(st), SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, WTERMSIG(st));
  sigprocmask(SIG_UNBLOCK, &only, NULL);
  raise(WTERMSIG(st));
  _exit(128 + WTERMSIG(st));
}

/* cgroup2 DIR: the rest of the plan runs in a child created inside DIR; this process waits. */
static int op_cgroup2(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "clone into %s", s->f[2]);
  int cg = open(s->f[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return errno;
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old); /* no signal may be lost between clone and handlers */
  struct clone_args ca = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cg };
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  int e = errno;
  close(cg);
  if (pid > 0) wait_for_tree((pid_t)pid, &old);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return pid < 0 ? e : 0;
}

/* cgroup PROCS-FILE: join a (v1) cgroup. */
static int op_cgroup(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "join %s", s->f[2]);
  char pid[32];
  snprintf(pid, sizeof pid, "%d\n", getpid());
  return write_file(s->f[2], pid);
}

/* mount-ns: a private mount namespace (host mounts untouched) for the staging binds. */
static int op_mount_ns(struct step *s, char *what, size_t wlen) {
  (void)s;
  snprintf(what, wlen, "private mount namespace");
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return errno;
  return 0;
}

/* stage-tmpfs DIR: the root-made tmpfs (mode 0755) the staged sources live in. */
static int op_stage_tmpfs(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "mount tmpfs on %s", s->f[2]);
  return mount("km-stage", s->f[2], "tmpfs", 0, "mode=0755") < 0 ? errno : 0;
}

/* stage SOURCE DEST: a non-recursive bind of a host path (directory or file) at DEST. */
static int op_stage(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "stage %s at %s", s->f[2], s->f[3]);
  if (!is_abs(s->f[2]) || !is_abs(s->f[3])) return EINVAL;
  int src = open(s->f[2], O_PATH | O_CLOEXEC);
  if (src < 0) return errno;
  struct stat st;
  int e = fstat(src, &st) < 0 ? errno : 0;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", s->f[3]);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) e = e ? e : errno;
  }
  if (!e) {
    int made = S_ISDIR(st.st_mode) ? mkdir(s->f[3], 0755) : open(s->f[3], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (made < 0) e = errno;
    else if (!S_ISDIR(st.st_mode)) close(made);
  }
  int tree = e ? -1 : open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (!e && tree < 0) e = errno;
  int t = e ? -1 : open(s->f[3], O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (!e && t < 0) e = errno;
  if (!e) e = attach(tree, t);
  if (t >= 0) close(t);
  if (tree >= 0) close(tree);
  close(src);
  return e;
}

/* user UID GID: become the tree's host ids with no supplementary groups (and no capabilities). */
static int op_user(struct step *s, char *what, size_t wlen) {
  snprintf(what, wlen, "switch to %s:%s", s->f[2], s->f[3]);
  unsigned long u, g;
  if (parse_id(s->f[2], UINT32_MAX - 1, &u) || parse_id(s->f[3], UINT32_MAX - 1, &g)) return EINVAL;
  if (setgroups(0, NULL) < 0 || setresgid((gid_t)g, (gid_t)g, (gid_t)g) < 0 || setresuid((uid_t)u, (uid_t)u, (uid_t)u) < 0) return errno;
  return 0;
}

/* ---- dispatch ---- */

struct op {
  const char *name;
  int min, max; /* fields including op and policy */
  bool host;
  op_fn fn;
};

static const struct op OPS[] = {
  { "root", 4, 4, false, op_root },
  { "bind", 5, 5, false, op_bind },
  { "fs", 7, 7, false, op_fs },
  { "overlay", 7, 7, false, op_overlay },
  { "mask", 3, 3, false, op_mask },
  { "mkdir", 3, 3, false, op_mkdir },
  { "chmod", 4, 4, false, op_chmod },
  { "etc", 6, 6, false, op_etc },
  { "trust", 5, 5, false, op_trust },
  { "lo-up", 2, 2, false, op_lo_up },
  { "capture", 4, 4, false, op_capture },
  { "bridge", 6, MAX_FIELDS, false, op_bridge },
  { "holder", 4, 4, false, op_holder },
  { "pivot", 2, 2, false, op_pivot },
  { "ready", 2, 2, false, op_ready },
  { "userns", 7, 7, true, op_userns },
  { "cgroup2", 3, 3, true, op_cgroup2 },
  { "cgroup", 3, 3, true, op_cgroup },
  { "mount-ns", 2, 2, true, op_mount_ns },
  { "stage-tmpfs", 3, 3, true, op_stage_tmpfs },
  { "stage", 4, 4, true, op_stage },
  { "user", 4, 4, true, op_user },
};

static const struct op *op_of(const struct step *s) {
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
    if (strcmp(OPS[i].name, s->f[0]) == 0) return &OPS[i];
  }
  return NULL;
}

/* Every step is checked before the first one runs: a bad plan changes nothing. */
static void check_plan(void) {
  char text[256];
  for (int i = 0; i < nsteps; i++) {
    const struct op *op = op_of(&steps[i]);
    const char *why = !op ? "unknown op" : op->host != host_mode ? "op not allowed here" : steps[i].n < op->min || steps[i].n > op->max ? "wrong field count" : NULL;
    bool udp;
    char local[16];
    if (!why && op->fn == op_bridge && parse_listen(steps[i].f[4], &udp, local, sizeof local)) why = "not a tcp|udp:IPV4:PORT listen address";
    if (why) {
      snprintf(text, sizeof text, "invalid setup plan: step %d (%.40s): %s", steps[i].no, steps[i].f[0], why);
      fail_text(text);
    }
  }
}

static void run_plan(void) {
  char what[PATH_MAX + 256];
  for (int i = 0; i < nsteps; i++) {
    what[0] = '\0';
    int e = op_of(&steps[i])->fn(&steps[i], what, sizeof what);
    if (e) step_failed(&steps[i], what, e);
  }
}

static void load_plan(char *text) {
  const char *why = text ? parse_plan(text) : strerror(errno);
  if (why) {
    char msg[256];
    snprintf(msg, sizeof msg, "invalid setup plan: %s", why);
    fail_text(msg);
  }
}

/* nft reads the ruleset while the mounts are made; the capture step collects it. */
static void start_nft(void) {
  for (int i = 0; i < nsteps; i++) {
    if (strcmp(steps[i].f[0], "capture") != 0 || steps[i].n != 4) continue;
    nft_pid = fork_child(false);
    if (nft_pid == 0) {
      char *argv[] = { "nft", "-f", steps[i].f[3], NULL };
      execvp(argv[0], argv);
      _exit(127);
    }
    return;
  }
}

static int sandbox_main(const char *plan) {
  /* Nothing inherited beyond stdio and the status pipe; and no cwd in the setup view. */
  close_range(STATUS_FD + 1, ~0U, 0);
  fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
  if (chdir("/") < 0 || (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) fail_text("setup step failed: no / or /dev/null");
  signal(SIGPIPE, SIG_IGN);
  load_plan(read_all(plan));
  check_plan();
  start_nft();
  run_plan();
  fail_text("setup plan ended without a ready step");
}

static int host_main(char *plan, char **argv) {
  host_mode = true;
  load_plan(plan);
  check_plan();
  run_plan();
  /* The tree never runs as host root: a plan without its `user` step starts nothing. */
  if (getuid() == 0 || geteuid() == 0) fail_text("refusing to start the tree as host root (the plan has no user step)");
  execvp(argv[0], argv);
  char text[PATH_MAX];
  snprintf(text, sizeof text, "cannot run %.200s: %s", argv[0], strerror(errno));
  fail_text(text);
}

static int parse_main(const char *path) {
  char *text = read_all(path);
  const char *why = text ? parse_plan(text) : strerror(errno);
  if (why) {
    fprintf(stderr, "km-setup: invalid setup plan: %s\n", why);
    return 2;
  }
  for (int i = 0; i < nsteps; i++) {
    putchar('[');
    for (int j = 0; j < steps[i].n; j++) {
      if (j) putchar(',');
      json_string(steps[i].f[j]);
    }
    puts("]");
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--parse") == 0) return parse_main(argv[2]);
  if (argc >= 5 && strcmp(argv[1], "--host") == 0 && strcmp(argv[3], "--") == 0) {
    /* argv is kmd's: the plan is copied so that parsing cannot touch the exec'd argv. */
    return host_main(strdup(argv[2]), argv + 4);
  }
  if (argc == 2 && argv[1][0] == '/') return sandbox_main(argv[1]);
  fprintf(stderr, "usage: km-setup PLAN-FILE | km-setup --host PLAN -- command [args...] | km-setup --parse PLAN-FILE\n");
  return 125;
}
