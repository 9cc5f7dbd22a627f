/*
 * The floor for bench/gateway-http.ts's CONNECT row: the least a CONNECT proxy can do, in C.
 * One blocking thread per connection: read the head, dial 127.0.0.1:<port from the CONNECT
 * line>, answer 200, then copy both ways with poll(2) until either side ends. No policy, no
 * parser beyond the port, no SNI check, no events: what is left is the extra connect, the
 * CONNECT round trip and one hop per TLS flight, which every proxy pays.
 *
 * Loopback only (it dials 127.0.0.1 whatever the CONNECT names). Prints its port on stdout.
 *   cc -O2 -pthread -o connect-floor bench/connect-floor.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Reads up to the blank line; returns the port of "CONNECT host:port", or -1. */
static int read_head(int c) {
  char head[4096];
  size_t n = 0;
  while (n < sizeof head - 1) {
    ssize_t r = read(c, head + n, sizeof head - 1 - n);
    if (r <= 0) return -1;
    n += (size_t)r;
    head[n] = 0;
    if (strstr(head, "\r\n\r\n")) break;
  }
  if (strncmp(head, "CONNECT ", 8) != 0) return -1;
  char *sp = strchr(head + 8, ' ');
  if (!sp) return -1;
  *sp = 0;
  char *colon = strrchr(head + 8, ':');
  long port = colon ? strtol(colon + 1, NULL, 10) : 0;
  return port > 0 && port < 65536 ? (int)port : -1;
}

static void relay(int a, int b) {
  struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
  char buf[65536];
  for (;;) {
    if (poll(p, 2, -1) < 0) return;
    for (int i = 0; i < 2; i++) {
      if (!p[i].revents) continue;
      ssize_t r = read(p[i].fd, buf, sizeof buf);
      if (r <= 0) return;
      for (ssize_t off = 0; off < r;) {
        ssize_t w = write(p[1 - i].fd, buf + off, (size_t)(r - off));
        if (w <= 0) return;
        off += w;
      }
    }
  }
}

static void *connection(void *arg) {
  int c = (int)(long)arg;
  nodelay(c);
  int port = read_head(c);
  if (port > 0) {
    int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (u >= 0) {
      nodelay(u);
      static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
      if (connect(u, (struct sockaddr *)&to, sizeof to) == 0 && write(c, ok, sizeof ok - 1) == (ssize_t)(sizeof ok - 1)) relay(c, u);
      close(u);
    }
  }
  close(c);
  return NULL;
}

int main(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in at = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof at;
  if (s < 0 || bind(s, (struct sockaddr *)&at, sizeof at) < 0 || listen(s, 128) < 0 || getsockname(s, (struct sockaddr *)&at, &len) < 0) {
    perror("connect-floor");
    return 1;
  }
  printf("%d\n", ntohs(at.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    pthread_t t;
    if (pthread_create(&t, NULL, connection, (void *)(long)c) != 0) close(c);
    else pthread_detach(t);
  }
}
