// UDP round trips per second against an uppercase server: keeps IN_FLIGHT datagrams of SIZE bytes
// outstanding on one connected socket and, for every reply, checks it and sends the next.
// Bounded: stops after SECONDS or MAX_REPLIES, whichever comes first.
// usage: udp_rtt HOST PORT SECONDS [IN_FLIGHT=32] [SIZE=64] [MAX_REPLIES=50000000]
// prints: replies=N seconds=S rate=R lost=L wrong=W
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: udp_rtt HOST PORT SECONDS [IN_FLIGHT] [SIZE] [MAX]\n"); return 64; }
  double seconds = atof(argv[3]);
  int inflight = argc > 4 ? atoi(argv[4]) : 32, size = argc > 5 ? atoi(argv[5]) : 64;
  long max = argc > 6 ? atol(argv[6]) : 50000000L;
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  inet_pton(AF_INET, argv[1], &to.sin_addr);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (connect(s, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 69; }
  struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 }; // a lost datagram: resend after 200 ms
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char msg[65536], expect[65536], buf[65536];
  for (int i = 0; i < size; i++) { msg[i] = 'a' + i % 26; expect[i] = 'A' + i % 26; }
  for (int i = 0; i < inflight; i++) send(s, msg, size, 0);
  long replies = 0, lost = 0, wrong = 0;
  double start = now(), end = start + seconds;
  while (replies < max) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) { lost++; send(s, msg, size, 0); if (now() > end) break; continue; }
      perror("recv"); return 74;
    }
    if (n != size || memcmp(buf, expect, size) != 0) wrong++;
    replies++;
    if ((replies & 1023) == 0 && now() > end) break;
    send(s, msg, size, 0);
  }
  double took = now() - start;
  printf("replies=%ld seconds=%.3f rate=%.0f lost=%ld wrong=%ld\n", replies, took, replies / took, lost, wrong);
  return wrong ? 1 : 0;
}
