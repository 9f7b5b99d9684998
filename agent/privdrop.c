/* privdrop.c -- become [agent] user, keep no capability (see privdrop.h).
 *
 * Order matters: setgroups (no supplementary groups; root's would otherwise
 * survive), setgid, then setuid. Changing every uid from 0 clears permitted
 * and effective capabilities by itself (no SECBIT_KEEP_CAPS); when systemd
 * already started us as the user with AmbientCapabilities, capset() with
 * empty sets and PR_CAP_AMBIENT_CLEAR_ALL drop them. The capset system call
 * is used directly (linux/capability.h): clearing all three sets needs no
 * more than that, so no extra library. PR_SET_NO_NEW_PRIVS last, so
 * nothing executed later can gain privileges through set-uid or file caps. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../common/log.h"
#include "privdrop.h"

int lt_privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "[agent] user '%s' does not exist (create it, or set user = root explicitly)", user);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

int lt_privdrop_own_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, 0755);
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (geteuid() != 0) return 0;
    if (chown(tmp, uid, gid) < 0 || chmod(tmp, 0700) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int lt_privdrop_own_file(const char *path, uid_t uid, gid_t gid)
{
    if (geteuid() != 0) return 0;
    return chown(path, uid, gid);
}

/* Empties the effective, permitted, inheritable and ambient sets. */
static int lt_privdrop_caps(char *err, size_t errlen)
{
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0) {
        snprintf(err, errlen, "capset: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int lt_privdrop_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
        snprintf(err, errlen, "cannot change to uid %u gid %u: %s", (unsigned)uid, (unsigned)gid, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 && uid != 0) {
        snprintf(err, errlen, "could regain root after dropping privileges; refusing to run");
        return -1;
    }
    return 0;
}

int lt_privdrop_apply(const char *user, char *err, size_t errlen)
{
    if (user && !strcmp(user, "root")) {
        lt_warn("agent: [agent] user = root: running as root with every capability (not recommended)");
        return 0;
    }
    /* the bounding set first: dropping it needs CAP_SETPCAP, gone after setuid */
    for (int c = 0; c <= CAP_LAST_CAP; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    if (getuid() == 0 || geteuid() == 0) {
        uid_t uid;
        gid_t gid;
        if (lt_privdrop_lookup(user ? user : "llmtap", &uid, &gid, err, errlen) < 0) return -1;
        if (lt_privdrop_ids(uid, gid, err, errlen) < 0) return -1;
    }
    if (lt_privdrop_caps(err, errlen) < 0) return -1;
    lt_info("agent: running as uid %u gid %u with no capabilities", (unsigned)getuid(), (unsigned)getgid());
    return 0;
}
