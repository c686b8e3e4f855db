/* syscall_chain: main -> sys_a -> sys_b -> sys_c, and sys_c spends its time
 * in the kernel (read(2) of /dev/zero into a large buffer), so most samples
 * of it are taken in kernel mode. The BPF program then has to find the user
 * registers through the task: on kernels without bpf_task_pt_regs (5.10)
 * from the pt_regs at the top of the kernel stack. The chain target
 * (testdata/targets/chain.c) almost never enters the kernel and so does not
 * exercise that path.
 *
 * Built with the flags of testdata/targets (no frame pointers), static for
 * the initramfs of `make kernels`. Needs /dev/zero. */
#include <fcntl.h>
#include <unistd.h>

#include "targets.h"

TARGET_GLOBALS;

static char buf[1 << 20];

CHAIN_FN unsigned long sys_c(int fd)
{
	unsigned long total = 0;
	while (target_running) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			return total;
		total += (unsigned long)n + (unsigned char)buf[n - 1];
		target_sink = total;
	}
	return total;
}

CHAIN_FN unsigned long sys_b(int fd)
{
	unsigned long r = sys_c(fd);
	AFTER_CALL();
	target_sink = r;
	return r + 2;
}

CHAIN_FN unsigned long sys_a(int fd)
{
	unsigned long r = sys_b(fd);
	AFTER_CALL();
	target_sink = r;
	return r ^ 5;
}

int main(void)
{
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0)
		return 2;
	unsigned long r = sys_a(fd);
	AFTER_CALL();
	target_sink = r;
	return 1; /* read failed */
}
