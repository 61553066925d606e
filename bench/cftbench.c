/* cftbench: file-tree and file-storm generator for bench/run.sh.
 *
 *   cftbench tree  DIR NDIRS NFILES SIZE SEED
 *       DIR/dNNNN/fNNN: NDIRS directories of NFILES files of SIZE bytes each,
 *       every file with distinct pseudo-random content (no dedup possible).
 *   cftbench storm DIR N SIZE
 *       N files DIR/sNNNNNN (DIR must exist) of SIZE bytes, each written with
 *       one open(O_CREAT|O_EXCL)+write+close; distinct content. This is the
 *       timed part of the storm measurement, so it does nothing else.
 *   cftbench modify FILE SEED
 *       overwrite FILE in place (same size, new content).
 *
 * Compiled by run.sh with `cc -O2`; plain POSIX, no dependencies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
    fprintf(stderr, "cftbench: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static uint64_t rng_state;
static uint64_t next64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(char *buf, size_t size, uint64_t seed) {
    rng_state = seed;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t v = next64();
        memcpy(buf + i, &v, 8);
    }
    for (; i < size; i++) buf[i] = (char)next64();
}

static void write_file(const char *path, const char *buf, size_t size, int flags) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0) die("open", path);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, buf + off, size - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("write", path);
        }
        off += (size_t)n;
    }
    if (close(fd) < 0) die("close", path);
}

int main(int argc, char **argv) {
    if (argc >= 7 && strcmp(argv[1], "tree") == 0) {
        const char *dir = argv[2];
        long ndirs = atol(argv[3]), nfiles = atol(argv[4]);
        size_t size = (size_t)atol(argv[5]);
        uint64_t seed = strtoull(argv[6], NULL, 10);
        char *buf = malloc(size + 1);
        char path[4096];
        if (!buf) return 1;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) die("mkdir", dir);
        for (long d = 0; d < ndirs; d++) {
            snprintf(path, sizeof path, "%s/d%04ld", dir, d);
            if (mkdir(path, 0755) < 0 && errno != EEXIST) die("mkdir", path);
            for (long f = 0; f < nfiles; f++) {
                snprintf(path, sizeof path, "%s/d%04ld/f%03ld", dir, d, f);
                fill(buf, size, seed * 1000003ULL + (uint64_t)(d * nfiles + f));
                write_file(path, buf, size, O_TRUNC);
            }
        }
        return 0;
    }
    if (argc >= 5 && strcmp(argv[1], "storm") == 0) {
        const char *dir = argv[2];
        long n = atol(argv[3]);
        size_t size = (size_t)atol(argv[4]);
        char *buf = malloc(size + 1);
        char path[4096];
        if (!buf) return 1;
        /* Content generated up front per file would cost the same on both
         * sides; keep it cheap: a fixed random block with the index stamped
         * into its first bytes (distinct per file). */
        fill(buf, size, 42);
        for (long i = 0; i < n; i++) {
            int len = snprintf(path, sizeof path, "%s/s%06ld", dir, i);
            (void)len;
            if (size >= 8) memcpy(buf, &i, sizeof i < size ? sizeof i : size);
            write_file(path, buf, size, O_EXCL);
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "modify") == 0) {
        struct stat st;
        if (stat(argv[2], &st) < 0) die("stat", argv[2]);
        size_t size = (size_t)st.st_size;
        char *buf = malloc(size + 1);
        if (!buf) return 1;
        fill(buf, size, strtoull(argv[3], NULL, 10) ^ 0x5eed5eedULL);
        write_file(argv[2], buf, size, O_TRUNC);
        return 0;
    }
    fprintf(stderr,
            "usage: cftbench tree DIR NDIRS NFILES SIZE SEED | storm DIR N SIZE | modify FILE SEED\n");
    return 2;
}
