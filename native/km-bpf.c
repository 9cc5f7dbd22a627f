/*
 * km-bpf: the cgroup connect gatekeeper of local sandboxes (SPEC 3.5), without clang or
 * libbpf: the programs are assembled here from raw instructions and loaded with bpf(2).
 *
 *   km-bpf probe            exit 0 when this host can load and attach cgroup/connect programs
 *   km-bpf attach CGROUP2   attach connect4/6 + sendmsg4/6 to a cgroup v2 directory, print
 *                           {"attached":true}, then one JSON line per denied attempt;
 *                           stdin lines "capture 1" / "capture 0" allow / stop allowing
 *                           TCP 80/443 and port 53 (redirected to the gateway by nftables).
 *                           Exits on stdin EOF; the programs stay attached to the cgroup.
 *   km-bpf watch CGROUP2    the same reader (and capture switch) for programs an earlier
 *                           `attach` left on the cgroup, found by name (after a kmd restart).
 *
 * Allowed: 127.0.0.0/8 (IPv4 and ::ffff:127.x), ::1, 0.0.0.0 and :: (this host, which in the
 * sandbox's network namespace is loopback only), and when capture is on TCP 80/443 and port
 * 53 to any address. Everything else fails with EPERM and is reported.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RB_SIZE (64 * 1024)
#define MAXI 128
#define CTX(f) ((short)offsetof(struct bpf_sock_addr, f))

struct deny { __u32 family, proto, addr[4], port, pid, op, pad; };

static struct bpf_insn prog[MAXI];
static int n, labels[16], fix_at[32], fix_label[32], nfix;
static char logbuf[65536];

static void emit(__u8 code, __u8 dst, __u8 src, short off, int imm) {
  struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
  if (n < MAXI) prog[n++] = i;
}
#define MOVI(d, v) emit(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define MOVR(d, s) emit(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ANDI(d, v) emit(BPF_ALU | BPF_AND | BPF_K, d, 0, 0, v) /* 32-bit: no sign extension */
#define RSHI(d, v) emit(BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, v)
#define ADDI(d, v) emit(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, v)
#define LDW(d, s, o) emit(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define STW(d, o, v) emit(BPF_ST | BPF_MEM | BPF_W, d, 0, o, v)
#define STXW(d, o, s) emit(BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define CALL(f) emit(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LABEL(l) (labels[l] = n)
static void jmp(int op, int reg, int imm, int label) {
  fix_at[nfix] = n;
  fix_label[nfix++] = label;
  emit((op == BPF_JA ? BPF_JMP : BPF_JMP32) | op | BPF_K, reg, 0, 0, imm); /* 32-bit compares */
}
static void ld_map(int reg, int fd) {
  emit(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, fd);
  emit(0, 0, 0, 0, 0);
}

enum { L_ALLOW, L_DENY, L_V4, L_PORTS };
enum { R_CTX = 6, R_IP = 7, R_PORT = 8, R_FAM = 9 };

/* r6 = ctx; v4: r7 = address; v6: ::1 allowed, ::ffff:a.b.c.d judged as IPv4. */
static void assemble(int v6, int op, int cfg_fd, int ring_fd) {
  n = nfix = 0;
  MOVR(R_CTX, 1);
  LDW(R_PORT, R_CTX, CTX(user_port));
  if (!v6) {
    LDW(R_IP, R_CTX, CTX(user_ip4));
  } else {
    MOVI(R_FAM, 6);
    for (int k = 0; k < 4; k++) LDW(1 + k, R_CTX, CTX(user_ip6[k]));
    for (int k = 0; k < 4; k++) STXW(10, -32 + 4 * k, 1 + k); /* addr[] of the deny record */
    LDW(R_IP, R_CTX, CTX(user_ip6[3]));
    jmp(BPF_JNE, 1, 0, L_PORTS);
    jmp(BPF_JNE, 2, 0, L_PORTS);
    jmp(BPF_JEQ, 3, (int)htonl(0xffff), L_V4);
    jmp(BPF_JNE, 3, 0, L_PORTS);
    jmp(BPF_JEQ, 4, (int)htonl(1), L_ALLOW);
    jmp(BPF_JEQ, 4, 0, L_ALLOW); /* :: means this host: loopback only in the sandbox's netns */
    jmp(BPF_JA, 0, 0, L_PORTS);
  }
  LABEL(L_V4);
  MOVI(R_FAM, 4);
  STXW(10, -32, R_IP);
  STW(10, -28, 0); STW(10, -24, 0); STW(10, -20, 0);
  jmp(BPF_JEQ, R_IP, 0, L_ALLOW); /* 0.0.0.0, likewise */
  MOVR(1, R_IP);
  ANDI(1, (int)htonl(0xff000000));
  jmp(BPF_JEQ, 1, (int)htonl(0x7f000000), L_ALLOW);
  LABEL(L_PORTS); /* not loopback: only the captured ports, and only with capture on */
  STW(10, -4, 0);
  ld_map(1, cfg_fd);
  MOVR(2, 10);
  ADDI(2, -4);
  CALL(BPF_FUNC_map_lookup_elem);
  jmp(BPF_JEQ, 0, 0, L_DENY);
  LDW(1, 0, 0);
  jmp(BPF_JEQ, 1, 0, L_DENY);
  jmp(BPF_JEQ, R_PORT, htons(53), L_ALLOW);
  LDW(1, R_CTX, CTX(protocol));
  jmp(BPF_JNE, 1, IPPROTO_TCP, L_DENY);
  jmp(BPF_JEQ, R_PORT, htons(80), L_ALLOW);
  jmp(BPF_JEQ, R_PORT, htons(443), L_ALLOW);
  LABEL(L_DENY);
  STXW(10, -40, R_FAM);
  LDW(1, R_CTX, CTX(protocol));
  STXW(10, -36, 1);
  STXW(10, -16, R_PORT);
  CALL(BPF_FUNC_get_current_pid_tgid);
  RSHI(0, 32);
  STXW(10, -12, 0);
  STW(10, -8, op);
  STW(10, -4, 0);
  ld_map(1, ring_fd);
  MOVR(2, 10);
  ADDI(2, -40);
  MOVI(3, sizeof(struct deny));
  MOVI(4, 0);
  CALL(BPF_FUNC_ringbuf_output);
  MOVI(0, 0);
  EXIT();
  LABEL(L_ALLOW);
  MOVI(0, 1);
  EXIT();
  for (int k = 0; k < nfix; k++) prog[fix_at[k]].off = (short)(labels[fix_label[k]] - fix_at[k] - 1);
}

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int map_create(int type, int key, int value, int entries, const char *name) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = entries;
  strncpy(a.map_name, name, sizeof(a.map_name) - 1);
  return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int prog_load(int attach_type, const char *name) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
  a.expected_attach_type = attach_type;
  a.insns = (__u64)(unsigned long)prog;
  a.insn_cnt = n;
  a.license = (__u64)(unsigned long)"GPL";
  a.log_buf = (__u64)(unsigned long)logbuf;
  a.log_size = sizeof(logbuf);
  a.log_level = 1;
  strncpy(a.prog_name, name, sizeof(a.prog_name) - 1);
  logbuf[0] = 0;
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0 && getenv("KM_BPF_LOG")) fprintf(stderr, "%s\n", logbuf);
  return fd;
}

static int prog_attach(int cg, int fd, int type) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.target_fd = cg;
  a.attach_bpf_fd = fd;
  a.attach_type = type;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  return (int)sys_bpf(BPF_PROG_ATTACH, &a);
}

static int set_capture(int cfg, __u32 on) {
  union bpf_attr a;
  __u32 key = 0;
  memset(&a, 0, sizeof(a));
  a.map_fd = cfg;
  a.key = (__u64)(unsigned long)&key;
  a.value = (__u64)(unsigned long)&on;
  return (int)sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

static int die(const char *what) {
  fprintf(stderr, "km-bpf: %s: %s\n", what, strerror(errno));
  return 1;
}

static int obj_info(int fd, void *info, __u32 len) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = fd;
  a.info.info_len = len;
  a.info.info = (__u64)(unsigned long)info;
  return (int)sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

static int fd_by_id(int cmd, __u32 id) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  if (cmd == BPF_PROG_GET_FD_BY_ID) a.prog_id = id; else a.map_id = id;
  return (int)sys_bpf(cmd, &a);
}

/* Finds km_cfg and km_deny through the km_connect4 program attached to the cgroup. */
static int find_maps(int cg, int *cfg, int *ring) {
  __u32 ids[64], map_ids[8];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.query.target_fd = cg;
  a.query.attach_type = BPF_CGROUP_INET4_CONNECT;
  a.query.prog_ids = (__u64)(unsigned long)ids;
  a.query.prog_cnt = 64;
  if (sys_bpf(BPF_PROG_QUERY, &a) < 0) return die("querying the cgroup's programs (BPF_PROG_QUERY)");
  *cfg = *ring = -1;
  for (__u32 k = 0; k < a.query.prog_cnt && k < 64; k++) {
    struct bpf_prog_info pi;
    int fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, ids[k]);
    memset(&pi, 0, sizeof(pi));
    pi.nr_map_ids = 8;
    pi.map_ids = (__u64)(unsigned long)map_ids;
    if (fd < 0 || obj_info(fd, &pi, sizeof(pi)) < 0 || strcmp(pi.name, "km_connect4") != 0) continue;
    for (__u32 m = 0; m < pi.nr_map_ids && m < 8; m++) {
      struct bpf_map_info mi;
      int mfd = fd_by_id(BPF_MAP_GET_FD_BY_ID, map_ids[m]);
      memset(&mi, 0, sizeof(mi));
      if (mfd < 0 || obj_info(mfd, &mi, sizeof(mi)) < 0) continue;
      if (strcmp(mi.name, "km_cfg") == 0) *cfg = mfd;
      if (strcmp(mi.name, "km_deny") == 0) *ring = mfd;
    }
  }
  if (*cfg < 0 || *ring < 0) {
    fprintf(stderr, "km-bpf: no km gatekeeper is attached to this cgroup\n");
    return 1;
  }
  return 0;
}

static const struct { int type, v6, op; const char *name; } hooks[] = {
  { BPF_CGROUP_INET4_CONNECT, 0, 1, "km_connect4" },
  { BPF_CGROUP_INET6_CONNECT, 1, 1, "km_connect6" },
  { BPF_CGROUP_UDP4_SENDMSG, 0, 2, "km_sendmsg4" },
  { BPF_CGROUP_UDP6_SENDMSG, 1, 2, "km_sendmsg6" },
};

static int make_maps(int *cfg, int *ring) {
  *cfg = map_create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, "km_cfg");
  if (*cfg < 0) return die("creating a BPF map (BPF_MAP_CREATE)");
  *ring = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, "km_deny");
  return *ring < 0 ? die("creating a BPF ring buffer (BPF_MAP_CREATE)") : 0;
}

static int load_all(int cfg, int ring, int fds[4]) {
  for (int k = 0; k < 4; k++) {
    assemble(hooks[k].v6, hooks[k].op, cfg, ring);
    fds[k] = prog_load(hooks[k].type, hooks[k].name);
    if (fds[k] < 0) return die("loading a cgroup/connect program (BPF_PROG_LOAD)");
  }
  return 0;
}

static void print_deny(const struct deny *d) {
  char addr[INET6_ADDRSTRLEN] = "";
  inet_ntop(d->family == 6 ? AF_INET6 : AF_INET, d->addr, addr, sizeof(addr));
  const char *proto = d->proto == IPPROTO_TCP ? "tcp" : d->proto == IPPROTO_UDP ? "udp" : "other";
  printf("{\"family\":%u,\"proto\":\"%s\",\"addr\":\"%s\",\"port\":%u,\"pid\":%u,\"op\":\"%s\"}\n", d->family, proto,
         addr, ntohs((__u16)d->port), d->pid, d->op == 2 ? "sendmsg" : "connect");
}

/* Drains the ring buffer: consumer page (rw) at offset 0, producer page + data (ro) after it. */
static void drain(volatile unsigned long *cons, volatile unsigned long *prod, char *data) {
  unsigned long c = *cons, p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
  while (c < p) {
    __u32 *hdr = (__u32 *)(data + (c & (RB_SIZE - 1)));
    __u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
    if (len & BPF_RINGBUF_BUSY_BIT) break;
    if (!(len & BPF_RINGBUF_DISCARD_BIT) && (len & ~BPF_RINGBUF_DISCARD_BIT) >= sizeof(struct deny))
      print_deny((const struct deny *)(hdr + 2));
    len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    c += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
    __atomic_store_n(cons, c, __ATOMIC_RELEASE);
  }
  fflush(stdout);
}

static int watch(int cfg, int ring) {
  long pg = sysconf(_SC_PAGESIZE);
  void *cons = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
  void *prod = mmap(NULL, pg + 2 * RB_SIZE, PROT_READ, MAP_SHARED, ring, pg);
  if (cons == MAP_FAILED || prod == MAP_FAILED) return die("mapping the deny ring buffer");
  char line[64];
  size_t used = 0;
  struct pollfd fds[2] = { { .fd = ring, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
  for (;;) {
    drain(cons, prod, (char *)prod + pg);
    if (poll(fds, 2, 500) < 0 && errno != EINTR) return die("poll");
    if (!(fds[1].revents & (POLLIN | POLLHUP))) continue;
    ssize_t r = read(0, line + used, sizeof(line) - 1 - used);
    if (r <= 0) break;
    used += (size_t)r;
    line[used] = 0;
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = 0;
      if (strcmp(line, "capture 1") == 0 || strcmp(line, "capture 0") == 0) {
        if (set_capture(cfg, line[8] == '1') < 0) return die("updating the capture flag");
        printf("{\"capture\":%s}\n", line[8] == '1' ? "true" : "false");
        fflush(stdout);
      }
      used -= (size_t)(nl + 1 - line);
      memmove(line, nl + 1, used + 1);
    }
    if (used == sizeof(line) - 1) used = 0;
  }
  drain(cons, prod, (char *)prod + pg);
  return 0;
}

int main(int argc, char **argv) {
  int fds[4], cfg, ring;
  signal(SIGPIPE, SIG_IGN);
  if (argc == 2 && strcmp(argv[1], "probe") == 0) {
    if (make_maps(&cfg, &ring) || load_all(cfg, ring, fds)) return 1;
    puts("ok");
    return 0;
  }
  if (argc != 3 || (strcmp(argv[1], "attach") != 0 && strcmp(argv[1], "watch") != 0)) {
    fprintf(stderr, "usage: km-bpf probe | km-bpf attach CGROUP_V2_DIR | km-bpf watch CGROUP_V2_DIR\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  int cg = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return die(argv[2]);
  if (strcmp(argv[1], "watch") == 0) {
    if (find_maps(cg, &cfg, &ring)) return 1;
    printf("{\"attached\":true}\n");
    fflush(stdout);
    return watch(cfg, ring);
  }
  if (make_maps(&cfg, &ring) || load_all(cfg, ring, fds)) return 1;
  for (int k = 0; k < 4; k++)
    if (prog_attach(cg, fds[k], hooks[k].type) < 0) return die("attaching to the cgroup (BPF_PROG_ATTACH)");
  printf("{\"attached\":true}\n");
  fflush(stdout);
  return watch(cfg, ring);
}
