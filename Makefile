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
PKGS     := libpcap jansson libcurl sqlite3 libnghttp2 zlib libbrotlidec libbrotlienc openssl libevent inih libevent_openssl
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
ifeq ($(SAN),1)
override CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS  += -fsanitize=address,undefined
endif
# Sub-makes (make asan) get their settings from the command line, not a
# copy of the flags computed here.
unexport CFLAGS CPPFLAGS LDFLAGS LDLIBS

MODULES  := common capture agent parsers records store uploader proxy
LIB_SRC  := $(filter-out agent/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c bench/*.c)
TOOL_BIN := $(patsubst %.c,$(BUILD)/%,$(TOOL_SRC))

.PHONY: all test check asan bench clean fixtures deps
all: $(BUILD)/llmtap $(TEST_BIN) $(TOOL_BIN)

$(BUILD)/liblt.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(BUILD)/agent/main.d $(TEST_BIN:=.d) $(TOOL_BIN:=.d)

$(BUILD)/llmtap: $(BUILD)/agent/main.o $(BUILD)/liblt.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liblt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblt.a $(LDLIBS) -lcmocka

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

bench: all
	bench/run.sh $(BUILD)

fixtures:
	tests/fixtures/gen/generate.sh
	tests/fixtures/gen-h2/generate.sh

deps:
	scripts/install-deps.sh

clean:
	rm -rf build build-asan
