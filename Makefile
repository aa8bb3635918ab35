# mukan-dialer: one entry point. Everything is built into $(BUILD)/.
#
#   make            build the libraries and tools
#   make test       every test: unit, BPF in the real kernel (root), bounded fuzzing
#   make bench      every benchmark (BENCH=name for one)
#   make demo       the main job, end to end
#   make fuzz       longer fuzzing (FUZZ_SECONDS per target, default 300)
#   make deps       install missing Debian packages (apt-get; root)
#   make install    install the tools under $(PREFIX)
#   make V=1 ...    show full commands;  make SAN=1 ...  build with ASan+UBSan

BUILD ?= build
PREFIX ?= /usr/local
CC ?= gcc
CLANG ?= clang
FUZZ_SECONDS ?= 20

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Iuser -Itests -I$(BUILD)/bpf -I$(BUILD)/proto -MMD -MP
LDLIBS := -linih -luring -lbpf -lelf -lz -ljansson -lhighwayhash -lprotobuf-c -lsodium -lstdc++ -lm
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

# Debian packages the project builds, tests and runs with.
DEPS_PKGS := make gcc clang llvm libclang-rt-14-dev pkg-config libcriterion-dev \
	libjansson-dev libhighwayhash-dev libbpf-dev liburing-dev bpftool libelf-dev \
	zlib1g-dev libsodium-dev libprotobuf-c-dev protobuf-c-compiler libinih-dev \
	libmicrohttpd-dev iproute2 nftables valgrind

BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# BPF: vmlinux.h from the running kernel's BTF, CO-RE objects, skeletons.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD)/bpf -Iinclude -Ibpf \
	-Wall -Werror

BOOK_SRCS := $(wildcard user/book/*.c)
LIB_SRCS := $(BOOK_SRCS) $(wildcard user/kern/*.c user/engine/*.c user/manager/*.c user/daemon/*.c user/handoff/*.c user/wire/*.c)
# protobuf-c code generated from proto/ (upstream's p2p messages), never committed.
PROTOS := $(wildcard proto/*/*.proto proto/*/*/*.proto)
PROTO_CS := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_HS := $(PROTO_CS:.c=.h)
PROTO_OBJS := $(PROTO_CS:$(BUILD)/proto/%.c=$(BUILD)/obj/proto/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(PROTO_OBJS)
LIB := $(BUILD)/libmukan.a

# Every directory tools/NAME/ with C sources is one program, $(BUILD)/NAME.
TOOL_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c))))
TOOLS := $(addprefix $(BUILD)/,$(sort $(TOOL_NAMES)))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/tests/unit-tests
SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/support/*.c))
BPFT_SRCS := $(wildcard tests/bpf/*.c)
BPFT_BIN := $(BUILD)/tests/bpf-tests
INTEG_SRCS := $(wildcard tests/integration/*.c)
INTEG_BIN := $(BUILD)/tests/integration-tests
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all test unit bpf-test integration-test fuzz-smoke fuzz bench demo deps install clean
# BPF objects are intermediate to the skeletons, but worth keeping.
.SECONDARY: $(BPF_OBJS)


all: $(BPF_SKELS) $(LIB) $(TOOLS)

$(BUILD)/bpf/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/bpf/vmlinux.h $(wildcard bpf/*.h include/mukan/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.full
	$(Q)$(LLVM_STRIP) -g $@.full -o $@ && rm -f $@.full

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mukan_$(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# Userspace that includes a skeleton must wait for it.
$(LIB_OBJS): | $(BPF_SKELS)

# One protoc-c run per .proto writes its .pb-c.c and .pb-c.h together.
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC,$<)
	$(Q)mkdir -p $(BUILD)/proto
	$(Q)protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

# Anything may include a generated header: every object waits for all of them
# (the first time; -MMD records the real dependencies for later builds).
$(LIB_OBJS) $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o) $(BPFT_SRCS:%.c=$(BUILD)/obj/%.o) \
	$(INTEG_SRCS:%.c=$(BUILD)/obj/%.o) $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/obj/tests/bench/%.o) \
	$(SUPPORT_OBJS) $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/*/*.c)): | $(PROTO_HS)

# Generated code: the project's warnings, but not -Werror on code we did not write.
$(BUILD)/obj/proto/%.o: $(BUILD)/proto/%.c | $(PROTO_HS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(filter-out -Werror,$(CFLAGS)) -Wno-missing-braces -c $< -o $@

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

define tool_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(LIB)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@
endef
$(foreach t,$(sort $(TOOL_NAMES)),$(eval $(call tool_rule,$(t))))

$(UNIT_BIN): $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(BPFT_BIN): $(BPFT_SRCS:%.c=$(BUILD)/obj/%.o) $(SUPPORT_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(INTEG_BIN): $(INTEG_SRCS:%.c=$(BUILD)/obj/%.o) $(SUPPORT_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(SUPPORT_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Fuzzers: clang + libFuzzer + ASan/UBSan, the library sources compiled in.
# The wire decoders come with the generated protobuf-c code they use.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Iuser -I$(BUILD)/proto \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BOOK_SRCS) $(wildcard user/wire/*.c) $(PROTO_CS) | $(PROTO_HS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ $(LDLIBS) -o $@

test: deps unit bpf-test integration-test fuzz-smoke

unit: $(UNIT_BIN) $(TOOLS)
	$(call msg,TEST,$(UNIT_BIN))
	$(Q)MUKAN_BUILD=$(abspath $(BUILD)) $(UNIT_BIN) --jobs 2

# The real programs in the real kernel: root, cgroups, network namespaces.
# Each test makes its own cgroup, namespace and pin directory.
bpf-test: $(BPFT_BIN) $(TOOLS)
	$(call msg,TEST,$(BPFT_BIN))
	$(Q)MUKAN_BUILD=$(abspath $(BUILD)) $(BPFT_BIN) --jobs 2

# The engine and the daemon against real sockets in private network namespaces.
integration-test: $(INTEG_BIN) $(TOOLS)
	$(call msg,TEST,$(INTEG_BIN))
	$(Q)if [ -n "$(INTEG_SRCS)" ]; then MUKAN_BUILD=$(abspath $(BUILD)) $(INTEG_BIN) --jobs 2; fi

# Every fuzzer replays its corpus (found crashers included), then explores briefly.
fuzz-smoke: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do \
		name=$$(basename $$f); corpus=tests/fuzz/corpus/$$name; \
		mkdir -p $(BUILD)/fuzz/work-$$name; \
		echo "  FUZZ    $$name: $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=0 \
			$(BUILD)/fuzz/work-$$name $$corpus >$(BUILD)/fuzz/$$name.log 2>&1 \
		|| { tail -40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
		grep -E '^#[0-9]+.*DONE' $(BUILD)/fuzz/$$name.log | tail -1; \
	done

fuzz: FUZZ_SECONDS = 300
fuzz: fuzz-smoke

bench: deps $(BENCH_BINS) $(TOOLS)
	$(Q)for b in $(BENCH_BINS); do \
		case "$(BENCH)" in ""|$$(basename $$b)) \
			MUKAN_BUILD=$(abspath $(BUILD)) $$b; rc=$$?; \
			[ $$rc = 0 ] || [ $$rc = 77 ] || exit 1;; esac; \
	done

demo: deps all
	$(Q)./tools/demo.sh $(BUILD)

deps:
	$(Q)missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: missing Debian packages:$$missing (run as root: sudo make deps)"; exit 1; \
		fi; \
		echo "  DEPS   installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/mukan-dialer \
		$(DESTDIR)/etc/systemd/system
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/mukan-dialer/
	install -m 0644 packaging/mukan-dialerd.service $(DESTDIR)/etc/systemd/system/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
