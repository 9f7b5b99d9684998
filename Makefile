# llmtap -- build, test, sanitize, benchmark.
#
#   make            build build/llmtap
#   make test       unit tests (cmocka), integration tests on the fixtures
#   make asan       the whole suite under AddressSanitizer + UBSan (build-asan/;
#                   the outage test shortened to 30 s unless OUTAGE_S is set)
#   make bench      replay throughput vs a bare libpcap loop -> BENCHMARKS.md
#   make clean
#
# Sources are found by wildcard: a new .c file in a module folder is built
# without touching this file. tests/unit/test_NAME.c becomes one test binary.

CC       ?= cc
BUILD    ?= build
PKGS     := libpcap jansson libcurl sqlite3 libnghttp2 zlib libbrotlidec libbrotlienc openssl libevent inih libevent_openssl libdeflate
OPT      ?= -O2 -g
WERROR   ?= 1
# The caller's CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS (make CFLAGS=-O0, dpkg's
# hardening flags) are kept and the project's flags appended to them; OPT
# comes first so a caller's -O wins. CFLAGS ends up holding the whole
# compiler command line (CPPFLAGS included) because every rule, also the
# link-and-compile ones, passes just $(CFLAGS). -MMD -MP writes a .d file of
# header dependencies next to each object. WERROR=0 drops -Werror.
override CPPFLAGS := $(CPPFLAGS) -D_GNU_SOURCE -I.
override CFLAGS   := $(OPT) $(CFLAGS) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
                     $(shell pkg-config --cflags $(PKGS)) -MMD -MP
override LDLIBS   := $(LDLIBS) $(shell pkg-config --libs $(PKGS)) -lm
# Each binary records only the shared libraries it uses (the test of one
# parser does not pull in libevent or libcurl).
override LDFLAGS  += -Wl,--as-needed
ifeq ($(SAN),1)
override CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS  += -fsanitize=address,undefined
# clang's UBSan also checks null arguments to _Nonnull parameters (make asan CC=clang)
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1)),)
override CFLAGS   += -fsanitize=nullability
override LDFLAGS  += -fsanitize=nullability
endif
endif
# The llmtap binary allocates with mimalloc (Debian's libmimalloc2.0): every
# record is a jansson tree of a few hundred small blocks, built on one thread
# and its text freed after the spool writer's commit, and glibc's malloc spent
# about a quarter of the proxy's instructions per logged call there (285k ->
# 225k instructions per request under callgrind; replay --no-store -12% CPU).
# Linked ahead of every other library so their malloc resolves to it too.
# Not under the sanitizers, which bring their own allocator. ALLOC_LIBS= builds
# with glibc's malloc.
ALLOC_LIBS ?= -lmimalloc
ifeq ($(SAN),1)
override ALLOC_LIBS :=
endif
# Sub-makes (make asan) get their settings from the command line, not a
# copy of the flags computed here.
unexport CFLAGS CPPFLAGS LDFLAGS LDLIBS

MODULES  := common capture agent parsers records store uploader analytics proxy
LIB_SRC  := $(filter-out agent/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c bench/*.c)
TOOL_BIN := $(patsubst %.c,$(BUILD)/%,$(TOOL_SRC))

.PHONY: all test check asan verify bench clean fixtures deps
all: $(BUILD)/llmtap $(TEST_BIN) $(TOOL_BIN)

$(BUILD)/liblt.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(BUILD)/agent/main.d $(TEST_BIN:=.d) $(TOOL_BIN:=.d)

$(BUILD)/analytics/kql_schema.o: packaging/azure/schema.json

$(BUILD)/llmtap: $(BUILD)/agent/main.o $(BUILD)/liblt.a
	$(CC) $(LDFLAGS) -o $@ $^ $(ALLOC_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liblt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(TEST_LDFLAGS_$*) -o $@ $< $(BUILD)/liblt.a $(LDLIBS) -lcmocka

# test_oom counts and fails allocations: the library's calls to these go to
# its __wrap_ functions.
TEST_LDFLAGS_test_oom := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

$(BUILD)/tests/tools/% $(BUILD)/bench/%: | $(BUILD)/liblt.a
$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/liblt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblt.a $(LDLIBS)
$(BUILD)/bench/%: bench/%.c $(BUILD)/liblt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblt.a $(LDLIBS)

# make test runs the suite twice: at today's date, then with llmtap's clock
# (and the stand-ins') moved FUTURE_S ahead, so no test can depend on how old
# its fixtures are (LLMTAP_CLOCK_OFFSET, common/clock.h). The second pass
# shortens the outage test.
FUTURE_S ?= 31536000
test: all
	tests/run.sh $(BUILD)
	LLMTAP_CLOCK_OFFSET=$(FUTURE_S) OUTAGE_S=$${OUTAGE_S:-30} tests/run.sh $(BUILD)

# One pass of the suite on an existing build.
check:
	tests/run.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT="-O1 -g" all
	OUTAGE_S=$${OUTAGE_S:-30} $(MAKE) BUILD=build-asan check

# Everything CI runs, the README's test command: the suite today and a year
# ahead, the same suite built by clang under ASan + UBSan (clang's UBSan
# checks null arguments too), and each fuzz target for FUZZ_SECONDS.
verify:
	$(MAKE) test
	$(MAKE) asan CC=clang
	$(MAKE) fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)

bench: all
	bench/run.sh $(BUILD)

fixtures:
	tests/fixtures/gen/generate.sh
	tests/fixtures/gen-h2/generate.sh

deps:
	scripts/install-deps.sh

clean:
	rm -rf build build-asan

# ---- fuzzing (tests/fuzz/) ------------------------------------------------
#   make fuzz                        libFuzzer targets, clang + ASan + UBSan, in $(BUILD)/fuzz/
#   make fuzz-run FUZZ_SECONDS=60    each target on its seed corpus; fails on any finding
# tests/fuzz/fuzz_NAME.c is one target. The same harnesses are also linked
# with tests/fuzz/driver.c (no libFuzzer, the build's own compiler and flags)
# into $(BUILD)/fuzz-replay/ so tests/integration/fuzz_regress.sh replays the
# committed regression inputs (tests/fuzz/regress/NAME/) in the normal suite.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined,nullability -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS)) $(FUZZ_SAN)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_REPLAY  := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/fuzz_%)

.PHONY: fuzz fuzz-run
all: $(FUZZ_REPLAY)
fuzz: $(FUZZ_BIN)

$(BUILD)/fuzz/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/liblt.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(BUILD)/fuzz/liblt.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/liblt.a $(LDLIBS)
$(BUILD)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(wildcard tests/fuzz/*.h) $(BUILD)/liblt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/driver.c $(BUILD)/liblt.a $(LDLIBS)

fuzz-run: fuzz
	tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

# make install [PREFIX=/usr/local] [DESTDIR=] [BINDIR=] [SYSCONFDIR=]: the
# binary and the documented configuration (0640; never over an existing one).
# make deb: llmtap_<version>_<arch>.deb with debhelper (packaging/debian/),
# built from a copy of the sources in $(BUILD)/deb/, left in $(BUILD)/.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
.PHONY: install deb
install: $(BUILD)/llmtap
	install -D -m 0755 $(BUILD)/llmtap $(DESTDIR)$(BINDIR)/llmtap
	test -e $(DESTDIR)$(SYSCONFDIR)/llmtap/llmtap.conf || \
	    install -D -m 0640 packaging/llmtap.conf $(DESTDIR)$(SYSCONFDIR)/llmtap/llmtap.conf

deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/llmtap
	tar -c Makefile README.md packaging $(MODULES) | tar -x -C $(BUILD)/deb/llmtap
	cp -r packaging/debian $(BUILD)/deb/llmtap/debian
	cp packaging/llmtap.service $(BUILD)/deb/llmtap/debian/llmtap.service
	cd $(BUILD)/deb/llmtap && dpkg-buildpackage -b -us -uc -j2
	cp $(BUILD)/deb/llmtap_*.deb $(BUILD)/
