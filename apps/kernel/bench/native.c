/*
 * The real kernel's figures for the @mm/kernel benchmark, measured in the
 * same run as the model: 4 KiB anonymous write faults (MADV_NOHUGEPAGE),
 * THP write faults per 4 KiB (MADV_HUGEPAGE), fork and CoW write faults in
 * the child, munmap and MADV_DONTNEED of populated memory. Fault counts are
 * checked with getrusage(). Times are the process's CPU time (user +
 * system: the fault and syscall work), as the model's are. Prints one JSON
 * object.
 *
 *   gcc -O2 -o native native.c && ./native 1024 256
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define PMD (2UL << 20)

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* A 2 MiB-aligned anonymous region of `bytes`. */
static char *region(size_t bytes, int advice)
{
	char *raw = mmap(NULL, bytes + PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	char *p = (char *)(((uintptr_t)raw + PMD - 1) & ~(PMD - 1));
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + bytes, raw + bytes + PMD - (p + bytes));
	madvise(p, bytes, advice);
	return p;
}

static void touch(char *p, size_t bytes, char v)
{
	for (size_t off = 0; off < bytes; off += PAGE)
		p[off] = v;
}

int main(int argc, char **argv)
{
	size_t big = (argc > 1 ? strtoul(argv[1], NULL, 0) : 1024) << 20;
	size_t forkb = (argc > 2 ? strtoul(argv[2], NULL, 0) : 256) << 20;
	size_t pages = big / PAGE, fpages = forkb / PAGE;

	/* 4 KiB faults */
	char *p = region(big, MADV_NOHUGEPAGE);
	long f0 = minflt();
	double t0 = now_ns();
	touch(p, big, 1);
	double fault4k = (now_ns() - t0) / pages;
	long faults4k = minflt() - f0;

	/* munmap of the populated region */
	t0 = now_ns();
	munmap(p, big);
	double unmap = (now_ns() - t0) / pages;

	/* MADV_DONTNEED of a populated region */
	p = region(big, MADV_NOHUGEPAGE);
	touch(p, big, 1);
	t0 = now_ns();
	madvise(p, big, MADV_DONTNEED);
	double dontneed = (now_ns() - t0) / pages;
	munmap(p, big);

	/* THP faults, per 4 KiB */
	p = region(big, MADV_HUGEPAGE);
	f0 = minflt();
	t0 = now_ns();
	touch(p, big, 1);
	double thp = (now_ns() - t0) / pages;
	long faultsthp = minflt() - f0;
	munmap(p, big);

	/* fork of a populated region, then CoW faults in the child */
	p = region(forkb, MADV_NOHUGEPAGE);
	touch(p, forkb, 1);
	int fds[2];
	if (pipe(fds) != 0)
		return 1;
	t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		double c0 = now_ns();
		long cf = minflt();
		touch(p, forkb, 2);
		double cow = (now_ns() - c0) / fpages;
		long cowfaults = minflt() - cf;
		if (write(fds[1], &cow, sizeof(cow)) < 0 || write(fds[1], &cowfaults, sizeof(cowfaults)) < 0)
			_exit(1);
		_exit(0);
	}
	double forkns = (now_ns() - t0) / fpages;
	double cow = 0;
	long cowfaults = 0;
	if (read(fds[0], &cow, sizeof(cow)) < 0 || read(fds[0], &cowfaults, sizeof(cowfaults)) < 0)
		return 1;
	waitpid(pid, NULL, 0);
	munmap(p, forkb);

	printf("{\"fault4k\":%.1f,\"faults4k\":%ld,\"pages\":%zu,\"thp\":%.1f,\"faultsThp\":%ld,"
	       "\"fork\":%.1f,\"cow\":%.1f,\"cowFaults\":%ld,\"forkPages\":%zu,\"munmap\":%.1f,\"dontneed\":%.1f}\n",
	       fault4k, faults4k, pages, thp, faultsthp, forkns, cow, cowfaults, fpages, unmap, dontneed);
	return 0;
}
