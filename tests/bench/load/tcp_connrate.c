// One-message TCP connections per second against an uppercase server, like the handout's client:
// connect, send MESSAGE, read the reply, close. THREADS connections at a time, each thread from
// its own loopback source address (127.0.0.1 .. 127.0.0.SOURCES) so the client's ephemeral ports
// (TIME_WAIT) do not run out at ~16k connections/s. Bounded by SECONDS and MAX connections.
// usage: tcp_connrate HOST PORT SECONDS [THREADS=50] [SOURCES=16] [MAX=10000000]
// prints: connections=N seconds=S rate=R failed=F wrong=W
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char MESSAGE[] = "hello, welcome to the lab";
static const char EXPECT[] = "HELLO, WELCOME TO THE LAB";
static struct sockaddr_in server;
static double deadline;
static long max_total;
static int sources;
static atomic_long done, failed, wrong;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void *worker(void *arg) {
  long id = (long)arg;
  struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = 0 };
  from.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(id % sources));
  char buf[256];
  while (now() < deadline && atomic_load(&done) < max_total) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    // The port is picked at connect() for the whole 4-tuple, so TIME_WAIT left by earlier runs
    // (against other server ports) does not use up this source address's ports.
    setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(s, (struct sockaddr *)&from, sizeof from) < 0 || connect(s, (struct sockaddr *)&server, sizeof server) < 0) {
      atomic_fetch_add(&failed, 1); close(s); usleep(1000); continue;
    }
    send(s, MESSAGE, sizeof MESSAGE - 1, 0);
    size_t got = 0;
    while (got < sizeof EXPECT - 1) {
      ssize_t n = recv(s, buf + got, sizeof buf - got, 0);
      if (n <= 0) break;
      got += n;
    }
    if (got != sizeof EXPECT - 1) atomic_fetch_add(&failed, 1);
    else if (memcmp(buf, EXPECT, got) != 0) atomic_fetch_add(&wrong, 1);
    else atomic_fetch_add(&done, 1);
    close(s);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: tcp_connrate HOST PORT SECONDS [THREADS] [SOURCES] [MAX]\n"); return 64; }
  server.sin_family = AF_INET;
  server.sin_port = htons(atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &server.sin_addr);
  int threads = argc > 4 ? atoi(argv[4]) : 50;
  sources = argc > 5 ? atoi(argv[5]) : 16;
  max_total = argc > 6 ? atol(argv[6]) : 10000000L;
  double start = now();
  deadline = start + atof(argv[3]);
  pthread_t t[1024];
  for (long i = 0; i < threads && i < 1024; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (long i = 0; i < threads && i < 1024; i++) pthread_join(t[i], NULL);
  double took = now() - start;
  printf("connections=%ld seconds=%.3f rate=%.0f failed=%ld wrong=%ld\n", atomic_load(&done), took, atomic_load(&done) / took,
         atomic_load(&failed), atomic_load(&wrong));
  return atomic_load(&wrong) ? 1 : 0;
}
