/* privdrop.h -- least privilege for the live agent.
 *
 * Capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode and
 * the ring) only while the pcap handles are opened. After that the agent
 * becomes [agent] user (default "llmtap"), its primary group and nothing
 * else, and drops every capability: effective, permitted, inheritable,
 * ambient, and the bounding set where allowed, so that /proc/PID/status
 * shows CapEff 0 and a later execve cannot regain any. "root" keeps root, on
 * explicit request only, with a warning. */
#ifndef LT_PRIVDROP_H
#define LT_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* Resolves user to uid/gid. 0 ok, -1 with a reason in err. */
int lt_privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);
/* Makes dir (and missing parents) owned by uid:gid, mode 0700, when running
 * as root; otherwise only creates it. 0 ok, -1 with a reason. */
int lt_privdrop_own_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Changes the owner of an existing file when root (spool, socket). */
int lt_privdrop_own_file(const char *path, uid_t uid, gid_t gid);
/* Becomes user (if root) and drops every capability. 0 ok, -1 with a reason. */
int lt_privdrop_apply(const char *user, char *err, size_t errlen);

#endif
