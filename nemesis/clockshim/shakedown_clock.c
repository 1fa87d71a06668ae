/*
 * shakedown's clock shim: preloaded (LD_PRELOAD) into a database process
 * on a local-cluster node so the clock nemesis can skew that process's
 * wall clock while every node shares the kernel's.
 *
 * It replaces clock_gettime, gettimeofday, time and timespec_get. Wall
 * clocks (CLOCK_REALTIME, _COARSE, CLOCK_TAI) come back moved by the
 * offset written in the file named by SHAKEDOWN_CLOCK_FILE (libfaketime's
 * relative syntax: "+5.000", "-0.250", seconds); monotonic and CPU clocks
 * pass through untouched, so timeouts inside the database still work.
 *
 * Why not libfaketime: its initialization looks symbols up with dlsym,
 * a failed lookup allocates, and a program whose malloc reads the clock
 * while it initializes (jemalloc, hence Redis) deadlocks on its own
 * allocator lock (libfaketime issue #130). This shim needs no allocation,
 * no dlsym and no libc beyond __errno_location and environ: the real clock
 * is read with the clock_gettime system call, the file with open/read.
 *
 * The file is read again at most every 10 ms of real time (the nemesis
 * rewrites it atomically with a rename), so a skew takes effect within
 * 10 ms and costs three system calls per 10 ms, not per clock read.
 *
 * Built by nemesis/build.rs with the C compiler Rust itself links with,
 * freestanding (-nostdlib): it works under glibc and musl alike.
 */

typedef long i64;

struct sd_timespec {
	long tv_sec;
	long tv_nsec;
};
struct sd_timeval {
	long tv_sec;
	long tv_usec;
};

extern int *__errno_location(void);
extern char **environ;

#define CLOCK_REALTIME 0
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_TAI 11
#define TIME_UTC 1
#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_CLOEXEC 02000000
#define NS 1000000000L
#define REREAD_NS 10000000L

#if defined(__x86_64__)
#define SYS_read 0
#define SYS_close 3
#define SYS_openat 257
#define SYS_clock_gettime 228
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}
static long sys4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
#define SYS_read 63
#define SYS_close 57
#define SYS_openat 56
#define SYS_clock_gettime 113
static long sys4(long n, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
			 : "memory");
	return x0;
}
static long sys3(long n, long a, long b, long c)
{
	return sys4(n, a, b, c, 0);
}
#else
#error "shakedown's clock shim supports x86_64 and aarch64"
#endif

/* The offset file's path, copied from the environment at load time
 * (programs such as Redis move their environment for setproctitle). */
static char path[4096];
static int path_state; /* 0 unread, 1 set, 2 absent */

static i64 offset_ns;  /* the offset last read */
static i64 next_read;  /* real wall time (ns) after which to read again */

static void find_path(void)
{
	static const char key[] = "SHAKEDOWN_CLOCK_FILE=";
	char **e = environ;
	for (; e && *e; e++) {
		const char *s = *e;
		int i = 0;
		while (key[i] && s[i] == key[i])
			i++;
		if (key[i])
			continue;
		s += i;
		for (i = 0; s[i] && i < (int)sizeof(path) - 1; i++)
			path[i] = s[i];
		path[i] = 0;
		__atomic_store_n(&path_state, i ? 1 : 2, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&path_state, 2, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void init(void)
{
	find_path();
}

/* "+5.000", "-0.250", "3": seconds with up to 9 decimals. A file that is
 * missing or does not parse means no offset. */
static i64 parse_offset(const char *s, long n)
{
	long i = 0;
	int neg = 0;
	i64 sec = 0, frac = 0, scale = NS;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9' && sec < 1000000000L)
		sec = sec * 10 + (s[i++] - '0');
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
			i++;
		}
	}
	return (neg ? -1 : 1) * (sec * NS + frac);
}

static i64 current_offset(i64 real_ns)
{
	int state = __atomic_load_n(&path_state, __ATOMIC_ACQUIRE);
	if (state == 0) {
		find_path();
		state = __atomic_load_n(&path_state, __ATOMIC_ACQUIRE);
	}
	if (state != 1)
		return 0;
	i64 due = __atomic_load_n(&next_read, __ATOMIC_RELAXED);
	/* Read again when due, or when the real clock went backwards. */
	if (real_ns < due && real_ns > due - 2 * REREAD_NS)
		return __atomic_load_n(&offset_ns, __ATOMIC_RELAXED);
	i64 off = 0;
	long fd = sys4(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		char buf[64];
		long n = sys3(SYS_read, fd, (long)buf, sizeof(buf));
		sys3(SYS_close, fd, 0, 0);
		if (n > 0)
			off = parse_offset(buf, n);
	}
	__atomic_store_n(&offset_ns, off, __ATOMIC_RELAXED);
	__atomic_store_n(&next_read, real_ns + REREAD_NS, __ATOMIC_RELAXED);
	return off;
}

static int is_wall_clock(int clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE || clk == CLOCK_TAI;
}

int clock_gettime(int clk, struct sd_timespec *ts)
{
	long r = sys3(SYS_clock_gettime, clk, (long)ts, 0);
	if (r < 0) {
		*__errno_location() = (int)-r;
		return -1;
	}
	if (is_wall_clock(clk)) {
		i64 real = ts->tv_sec * NS + ts->tv_nsec;
		i64 t = real + current_offset(real);
		ts->tv_sec = t / NS;
		ts->tv_nsec = t % NS;
		if (ts->tv_nsec < 0) {
			ts->tv_nsec += NS;
			ts->tv_sec -= 1;
		}
	}
	return 0;
}

int gettimeofday(struct sd_timeval *tv, void *tz)
{
	struct sd_timespec ts;
	if (tz) {
		/* struct timezone: obsolete, always zero on Linux. */
		((int *)tz)[0] = 0;
		((int *)tz)[1] = 0;
	}
	if (!tv)
		return 0;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

long time(long *t)
{
	struct sd_timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int timespec_get(struct sd_timespec *ts, int base)
{
	if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) != 0)
		return 0;
	return base;
}
