/* SPDX-License-Identifier: Apache-2.0 */
/*
 * farm_fixture.h - one mukan-peerfarm per test, for test_peerfarm.c.
 *
 * farm_start runs $MUKAN_BUILD/mukan-peerfarm as a child with the test's
 * flags and --out in a mkdtemp directory, waits for its manifest (the
 * "ready" file) and loads it; farm_fini (the suite's .fini) stops a farm
 * still running, removes what a killed one left and the files. Helpers
 * read the manifest's peers and dial them inside the farm's namespace.
 * Needs root; need_root() skips the test with the reason otherwise.
 */
#ifndef MUKAN_TEST_FARM_FIXTURE_H
#define MUKAN_TEST_FARM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <jansson.h>

#include "mukan/abi.h"

#define READY_TIMEOUT_MS 20000 /* setup takes ~0.1 s (2,000 peers: ~1 s); a loaded CI box gets room */
#define EXIT_TIMEOUT_MS 5000
#define DIAL_DEADLINE_MS 300
#define NS_PREFIX "mukanfarm-"

struct farm {
	pid_t pid;  /* 0 once reaped */
	int status; /* then: its exit status */
	char dir[64], name[48], ns_path[96], log[128];
	json_t *manifest;
	int64_t ready_ms; /* from start to the manifest */
};

extern struct farm farm; /* the test's farm, for the fini that stops it */

int64_t now_ms(void);
void sleep_ms(int ms);
void need_root(void);
const char *farm_bin(void);
int wait_child(pid_t pid, int timeout_ms);
pid_t start(char *const argv[], const char *log);
int run(char *const argv[], const char *log);
char *slurp(const char *path);
bool exists(const char *path);
void rm_tree(const char *dir);

void farm_path(const struct farm *f, const char *file, char *out, size_t sz);
/* Start mukan-peerfarm with extra flags (NULL-terminated); wait until it is up. */
void farm_start(struct farm *f, const char *tag, const char *const extra[]);
int farm_wait(struct farm *f);
int farm_stop(struct farm *f, int sig);
void farm_fini(void);

/* setns into the namespace at path; the namespace's fd (kept open). */
int enter_ns(const char *path);

/*
 * Non-blocking connect with our own deadline: 0 connected (the socket in
 * *keep if asked, else closed), the errno, or ETIMEDOUT at the deadline.
 */
int dial(json_t *peer, int deadline_ms, int *keep, int64_t *took_ms);

/* Manifest peers: fields, and lookups. */
json_t *peers_of(json_t *manifest);
const char *cat_of(json_t *peer);
const char *ip_of(json_t *peer);
const char *addr_of(json_t *peer);
const char *variant_of(json_t *peer);
uint16_t port_of(json_t *peer);
bool is_v6(json_t *peer);
/* The peer's "id" (or another hex field such as "key_id") as 20 bytes. */
void id_of(json_t *peer, const char *field, uint8_t id[MUKAN_ID_LEN]);
/* The first peer of a category (and variant, unless NULL), or NULL. */
json_t *first_of(json_t *manifest, const char *cat);
json_t *first_variant(json_t *manifest, const char *cat, const char *variant);
/* The peer listed as id@ip:port, or NULL. */
json_t *peer_by_addr(json_t *manifest, const char *addr);
bool cat_listens(const char *cat);

#endif /* MUKAN_TEST_FARM_FIXTURE_H */
