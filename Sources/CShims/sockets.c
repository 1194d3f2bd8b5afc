#define _GNU_SOURCE
#include "sockets.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int strata_poll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int strata_poll_control(int poll_fd, int op, int fd, uint32_t events) {
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(poll_fd, op, fd, &event);
}

int strata_poll_wait(int poll_fd, strata_poll_event *out, int capacity, long long timeout_nanos) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int count;
    if (timeout_nanos < 0) {
        count = epoll_wait(poll_fd, events, capacity, -1);
    } else {
        // epoll_wait counts in milliseconds; timers here need finer (a checkpoint steps
        // every 200 us), so epoll_pwait2 where the kernel has it.
        struct timespec timeout = { timeout_nanos / 1000000000LL, timeout_nanos % 1000000000LL };
        count = epoll_pwait2(poll_fd, events, capacity, &timeout, NULL);
        if (count < 0 && errno == ENOSYS) {
            count = epoll_wait(poll_fd, events, capacity, (int)((timeout_nanos + 999999) / 1000000));
        }
    }
    if (count < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < count; i++) {
        out[i].fd = events[i].data.fd;
        out[i].events = events[i].events;
    }
    return count;
}

int strata_wake_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void strata_wake_signal(int fd) {
    uint64_t one = 1;
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {}
}

void strata_wake_drain(int fd) {
    uint64_t count;
    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {}
}

int strata_listen(const char *host, int port, int backlog, int *bound_port, char *error, size_t error_size) {
    struct addrinfo hints, *results = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    int status = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, service, &hints, &results);
    if (status != 0) {
        snprintf(error, error_size, "%s", gai_strerror(status));
        return -1;
    }
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *entry = results; entry != NULL; entry = entry->ai_next) {
        fd = socket(entry->ai_family, entry->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, entry->ai_protocol);
        if (fd < 0) { saved = errno; continue; }
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        if (entry->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof(yes));
        if (bind(fd, entry->ai_addr, entry->ai_addrlen) == 0 && listen(fd, backlog) == 0) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(results);
    if (fd < 0) {
        snprintf(error, error_size, "%s", strerror(saved));
        return -1;
    }
    char ip[64];
    if (strata_socket_address(fd, 0, ip, sizeof(ip), bound_port) != 0) *bound_port = port;
    return fd;
}

int strata_accept(int listen_fd, int keepalive_seconds) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    if (keepalive_seconds > 0) {
        // As Redis: probes after `tcp-keepalive` idle seconds, then every third of it.
        int interval = keepalive_seconds / 3 > 0 ? keepalive_seconds / 3 : 1;
        int probes = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof(yes));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_seconds, sizeof(keepalive_seconds));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
    }
    return fd;
}

int strata_socket_address(int fd, int peer, char *ip, size_t ip_size, int *port) {
    struct sockaddr_storage address;
    socklen_t length = sizeof(address);
    int status = peer ? getpeername(fd, (struct sockaddr *)&address, &length)
                      : getsockname(fd, (struct sockaddr *)&address, &length);
    if (status != 0) return -1;
    if (address.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
        inet_ntop(AF_INET, &v4->sin_addr, ip, (socklen_t)ip_size);
        *port = ntohs(v4->sin_port);
        return 0;
    }
    if (address.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, (socklen_t)ip_size);
        *port = ntohs(v6->sin6_port);
        return 0;
    }
    return -1;
}

void strata_name_thread(const char *name) { pthread_setname_np(pthread_self(), name); }
