#ifndef STRATA_SOCKETS_H
#define STRATA_SOCKETS_H
#include <stddef.h>
#include <stdint.h>

// The execution loop's system calls (ExecutionLoop.swift, Listener.swift): epoll's
// event struct is packed on x86-64, and sockaddr juggling is shorter in C.

/// One readiness event: the descriptor and its EPOLL* bits.
typedef struct {
    int fd;
    uint32_t events;
} strata_poll_event;

/// Readiness bits, as epoll's.
#define STRATA_POLL_IN 0x001
#define STRATA_POLL_OUT 0x004
#define STRATA_POLL_ERR 0x008
#define STRATA_POLL_HUP 0x010

int strata_poll_create(void);
/// epoll_ctl's operations.
#define STRATA_POLL_ADD 1
#define STRATA_POLL_DELETE 2
#define STRATA_POLL_MODIFY 3

/// Adds, changes or removes `fd`'s interest (op: STRATA_POLL_ADD/MODIFY/DELETE); returns
/// 0 or -1 (errno).
int strata_poll_control(int poll_fd, int op, int fd, uint32_t events);
/// Waits up to `timeout_nanos` (-1: forever) and copies at most `capacity` events out.
/// Returns the count, or -1 (errno; EINTR is returned as 0).
int strata_poll_wait(int poll_fd, strata_poll_event *out, int capacity, long long timeout_nanos);

/// A non-blocking eventfd that wakes the loop from other threads.
int strata_wake_create(void);
void strata_wake_signal(int fd);
void strata_wake_drain(int fd);

/// A listening TCP socket on host:port (numeric address or name), non-blocking, with
/// SO_REUSEADDR (and IPV6_V6ONLY for IPv6). Returns the descriptor, or -1 with a reason
/// in `error`. `bound_port` receives the port actually bound (port 0 picks one).
int strata_listen(const char *host, int port, int backlog, int *bound_port, char *error, size_t error_size);

/// Accepts one connection (non-blocking, close-on-exec) with TCP_NODELAY and, when
/// `keepalive_seconds` > 0, TCP keepalive probes after that idle time. Returns the
/// descriptor, -1 when none is waiting (EAGAIN), -2 on another error (errno).
int strata_accept(int listen_fd, int keepalive_seconds);

/// The peer's (`peer` 1) or the local (`peer` 0) address of a socket as "ip" and port.
/// Returns 0, or -1 when it has none.
int strata_socket_address(int fd, int peer, char *ip, size_t ip_size, int *port);
/// Names the calling thread (at most 15 characters show).
void strata_name_thread(const char *name);
#endif
