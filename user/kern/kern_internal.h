/* SPDX-License-Identifier: Apache-2.0 */
/* kern_internal.h - state shared by the user/kern sources. */
#ifndef MUKAN_KERN_INTERNAL_H
#define MUKAN_KERN_INTERNAL_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern.h"

/* The maps, by pin name and by their versioned kernel name. */
enum kern_map_id { KM_BOOK, KM_IDX, KM_META, KM_CONFIG, KM_STATS, KM_EVENTS, KM_COUNT };

struct kern_map_def {
	const char *pin;   /* file name under the pin directory */
	const char *kname; /* the map's name in the kernel (the BPF variable) */
};
extern const struct kern_map_def kern_maps[KM_COUNT];

/* meta_v1 pinned by an earlier version, renamed here while it is migrated. */
#define KERN_META_V1_KNAME "meta_v1"
#define KERN_META_V1_ASIDE "meta_v1_migrating" /* bpffs names take no dots */

/* The programs' attachments, pinned as links. */
enum kern_link_id { KL_SOCKOPS, KL_CONNECT4, KL_CONNECT6, KL_COUNT };
extern const char *const kern_link_pins[KL_COUNT];
extern const char *const kern_link_names[KL_COUNT];

struct mukan_sockops;
struct mukan_connect_gate;

struct kern {
	char pin_dir[256];
	struct mukan_sockops *so;	/* NULL when only the pins were opened */
	struct mukan_connect_gate *cg;
	struct bpf_link *links[KL_COUNT];
	int fd[KM_COUNT]; /* owned only when so == NULL */
	struct mukan_peer *slots;
	size_t map_len;
	struct mukan_book_meta *meta; /* mmapped */
	size_t meta_len;
	uint32_t capacity;
	bool fresh;
	bool migrate_v1;		 /* a meta_v1 was found: its fields are in v1 */
	struct mukan_book_meta_v1 v1;
	uint32_t replaced_capacity;	 /* an empty book of this size was replaced */
	struct ring_buffer *rb;
	kern_event_fn ev_cb;
	void *ev_ctx;
};

int kern_map_fd(const struct kern *k, enum kern_map_id id);
int kern_mmap_book(struct kern *k, char *err, size_t errsz);
int kern_mmap_meta(struct kern *k, char *err, size_t errsz);
void kern_path(const char *dir, const char *name, char *out, size_t sz);

/* kern_book.c, for kern_import.c. */
struct book;
void kern_insert_all(struct book *live, const struct book *file, unsigned *imported,
		     unsigned *refused, char *first_refusal, size_t sz);
bool kern_same_keys(const struct book *x, const struct book *y);

/* kern_log.c: libbpf's messages go to a buffer; the tail explains a refusal. */
void kern_log_capture(void);
const char *kern_log_tail(size_t max_lines);

#endif
