// The socket calls of the hub's UDP port that glibc's Swift module leaves out (they are GNU
// extensions, declared only with _GNU_SOURCE): recvmmsg(2), pthread_setname_np(3), and the
// kernel's receive time of a datagram (SO_TIMESTAMPNS, read with the CMSG_* macros).
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/// glibc's `struct mmsghdr`, under a name of our own (the real one is GNU-only).
struct egress_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

extern int egress_recvmmsg(int fd, struct egress_mmsghdr *vector, unsigned int count, int flags,
                           struct timespec *timeout) __asm__("recvmmsg");
extern int egress_pthread_setname(pthread_t thread, const char *name) __asm__("pthread_setname_np");

/// The SO_TIMESTAMPNS receive time (CLOCK_REALTIME, ns) a received message carries, or -1.
static inline long long egress_receive_time(const struct msghdr *message) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(message); c != NULL; c = CMSG_NXTHDR((struct msghdr *)message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec time;
            memcpy(&time, CMSG_DATA(c), sizeof time);
            return (long long)time.tv_sec * 1000000000LL + time.tv_nsec;
        }
    }
    return -1;
}
