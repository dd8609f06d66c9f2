/*
 * alki-healthcheck: the HEALTHCHECK program of Alki's air-gapped llama-server
 * base image, which has no shell and no curl. It sends `GET <path>` to
 * 127.0.0.1:<port> and exits 0 only on an HTTP 200 answer (llama-server's
 * /health answers 503 while the model loads).
 *
 * Usage: alki-healthcheck PORT [PATH]    (PATH defaults to /health)
 *
 * Built static (`cc -static -Os`) by `alki image base`, so it needs no
 * library inside the image.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: alki-healthcheck PORT [PATH]\n");
    return 2;
  }
  long port = strtol(argv[1], NULL, 10);
  const char *path = argc > 2 ? argv[2] : "/health";
  if (port <= 0 || port > 65535 || path[0] != '/' || strlen(path) > 1024 || strpbrk(path, "\r\n ")) {
    fprintf(stderr, "alki-healthcheck: bad port or path\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 1;
  struct timeval timeout = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    fprintf(stderr, "alki-healthcheck: cannot connect to 127.0.0.1:%ld\n", port);
    return 1;
  }
  char request[1200];
  int length = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  if (write(fd, request, (size_t)length) != length) return 1;
  char status[32];
  ssize_t got = 0;
  while (got < (ssize_t)sizeof status - 1) {
    ssize_t n = read(fd, status + got, sizeof status - 1 - (size_t)got);
    if (n <= 0) break;
    got += n;
  }
  close(fd);
  status[got] = '\0';
  // "HTTP/1.1 200 OK": the status code is the second word.
  char *space = strchr(status, ' ');
  if (space && strncmp(space + 1, "200", 3) == 0) return 0;
  fprintf(stderr, "alki-healthcheck: not healthy: %.20s\n", status);
  return 1;
}
