/* tandem-store.h: the SQLite store of one profile
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TANDEM_STORE_ERROR (tandem_store_error_quark ())

/**
 * TandemStoreError:
 * @TANDEM_STORE_ERROR_FAILED: something else went wrong
 * @TANDEM_STORE_ERROR_CORRUPT: the database is damaged, is not an SQLite
 *   file, or is some other program's database; it was left untouched
 * @TANDEM_STORE_ERROR_NEWER_SCHEMA: the database was written by a newer
 *   Tandem; it was left untouched
 * @TANDEM_STORE_ERROR_READ_ONLY: the profile folder or a file in it cannot
 *   be written
 * @TANDEM_STORE_ERROR_DISK_FULL: the disk is full; the change was rolled
 *   back and everything committed before it is still there
 * @TANDEM_STORE_ERROR_NOT_FOUND: no notebook or note has that id, or the
 *   peer is not a member of the notebook
 * @TANDEM_STORE_ERROR_INSECURE: the identity key file can be read by other
 *   users (or belongs to another user), so it is not used
 * @TANDEM_STORE_ERROR_IN_USE: another Tandem has the profile open
 *
 * Every message names the file it is about.
 */
typedef enum
{
  TANDEM_STORE_ERROR_FAILED,
  TANDEM_STORE_ERROR_CORRUPT,
  TANDEM_STORE_ERROR_NEWER_SCHEMA,
  TANDEM_STORE_ERROR_READ_ONLY,
  TANDEM_STORE_ERROR_DISK_FULL,
  TANDEM_STORE_ERROR_NOT_FOUND,
  TANDEM_STORE_ERROR_INSECURE,
  TANDEM_STORE_ERROR_IN_USE,
} TandemStoreError;

GQuark tandem_store_error_quark (void);

/* The schema version this build writes (PRAGMA user_version). */
#define TANDEM_STORE_SCHEMA_VERSION 5

/* Times in the store are microseconds since the Unix epoch (UTC), as
 * g_get_real_time() gives them. */

/**
 * TandemStoreNotebook:
 * @id: 32 lowercase hex digits (128 random bits)
 * @name: the notebook's name
 * @secret_key: the 32-byte notebook key
 * @previous_key: (nullable): the 32-byte key it had before the last
 *   tandem_store_set_notebook_key(), or %NULL if it never changed; peers
 *   that have not heard of the new key yet still prove membership with it
 * @field_policies: a JSON object, field name -> policy; `{}` by default
 * @created: when this peer created or joined it
 */
typedef struct
{
  char    *id;
  char    *name;
  GBytes  *secret_key;
  GBytes  *previous_key;
  char    *field_policies;
  gint64   created;
} TandemStoreNotebook;

/**
 * TandemStoreMember:
 * @notebook_id: the notebook
 * @peer_id: the member's peer id
 * @name: the member's display name, as last heard
 * @cert_fingerprint: SHA-256 of the member's certificate (DER), hex
 * @last_version: the last version vector heard from it (JSON), or %NULL
 */
typedef struct
{
  char    *notebook_id;
  guint64  peer_id;
  char    *name;
  char    *cert_fingerprint;
  char    *last_version;
} TandemStoreMember;

/**
 * TandemStoreAddress:
 * @peer_id: the peer
 * @host: a host name or IP address where it was reached, as given
 * @port: the TCP port there
 * @last_seen: when it was last reached there
 *
 * Where a peer was last seen, so it can be tried there again. The store
 * keeps the 4 newest per peer.
 */
typedef struct
{
  guint64  peer_id;
  char    *host;
  guint16  port;
  gint64   last_seen;
} TandemStoreAddress;

/**
 * TandemStoreNoteInfo:
 * @id: 32 lowercase hex digits
 * @notebook_id: the notebook it belongs to
 * @created: when it was created here
 * @updated: when it was last committed here
 * @trashed: when it was moved to the trash (its synced `trashed` field, in
 *   seconds since 1970), or 0 when it is not in the trash
 * @fields: the fields as last committed, a JSON object
 * @snippet: the first 160 code points of the text, to list notes without
 *   loading them
 * @title: (nullable): the `title` field when it is a string
 * @colour: (nullable): the `colour` field when it is a string
 * @pinned: whether the `pinned` field is true
 *
 * (@title, @colour and @pinned are read out of @fields by SQLite, so that a
 * list of a thousand notes needs no JSON parser.)
 */
typedef struct
{
  char    *id;
  char    *notebook_id;
  gint64   created;
  gint64   updated;
  gint64   trashed;
  char    *fields;
  char    *snippet;
  char    *title;
  char    *colour;
  gboolean pinned;
} TandemStoreNoteInfo;

/**
 * TandemStoreNoteUpdate:
 * @runs: (nullable): encoded runs to append to the note's log
 * @n_events: how many events @runs holds (added to the note's count)
 * @text: (nullable): the current text, UTF-8; %NULL leaves it unchanged
 * @fields: (nullable): the current fields as a JSON object; %NULL leaves
 *   them unchanged
 * @pending: (nullable) (element-type GBytes): the whole causal buffer;
 *   %NULL leaves it unchanged, an empty array clears it
 * @undo: (nullable): the undo state; %NULL leaves it unchanged
 * @seq_counter: this peer's next sequence number in the note; it may stay
 *   or grow, never shrink
 * @authors: (nullable): with @runs, the peers whose events they hold, as a
 *   JSON array; the commit then marks a version of the note
 *
 * Everything one tandem_store_commit_note() writes, in one transaction.
 * The store does not look inside the blobs.
 */
typedef struct
{
  GBytes     *runs;
  guint64     n_events;
  const char *text;
  const char *fields;
  GPtrArray  *pending;
  GBytes     *undo;
  guint64     seq_counter;
  const char *authors;
} TandemStoreNoteUpdate;

/**
 * TandemStoreVersion:
 * @n_events: the version is the note's first @n_events events
 * @time: when it was committed (microseconds since 1970)
 * @authors: the peers whose events made it, a JSON array of ids
 * @name: (nullable): the name of a kept snapshot
 */
typedef struct
{
  guint64  n_events;
  gint64   time;
  char    *authors;
  char    *name;
} TandemStoreVersion;

void tandem_store_version_free (TandemStoreVersion *version);

/**
 * TandemStoreNote:
 * @id: the note's id
 * @notebook_id: its notebook
 * @created: when it was created here
 * @updated: when it was last committed here
 * @text: the current text
 * @fields: the current fields, a JSON object
 * @log: (element-type GBytes): the compacted log (if the note was ever
 *   compacted), then every run appended since, in commit order
 * @n_tail: how many of @log are runs appended since the last compaction
 * @log_events: how many events the whole log holds
 * @pending: (element-type GBytes): the causal buffer, in order
 * @undo: (nullable): the undo state, or %NULL if none was committed
 * @seq_counter: this peer's next sequence number in the note
 */
typedef struct
{
  char      *id;
  char      *notebook_id;
  gint64     created;
  gint64     updated;
  char      *text;
  char      *fields;
  GPtrArray *log;
  guint      n_tail;
  guint64    log_events;
  GPtrArray *pending;
  GBytes    *undo;
  guint64    seq_counter;
} TandemStoreNote;

void tandem_store_notebook_free  (TandemStoreNotebook *notebook);
void tandem_store_member_free    (TandemStoreMember   *member);
void tandem_store_address_free   (TandemStoreAddress  *address);
void tandem_store_note_info_free (TandemStoreNoteInfo *info);
void tandem_store_note_free      (TandemStoreNote     *note);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemStoreNotebook, tandem_store_notebook_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemStoreMember, tandem_store_member_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemStoreAddress, tandem_store_address_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemStoreNoteInfo, tandem_store_note_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemStoreNote, tandem_store_note_free)

#define TANDEM_TYPE_STORE (tandem_store_get_type ())

G_DECLARE_FINAL_TYPE (TandemStore, tandem_store, TANDEM, STORE, GObject)

TandemStore  *tandem_store_open                       (const char  *profile_dir,
                                                       GError     **error);
const char   *tandem_store_get_profile_dir            (TandemStore *self);
const char   *tandem_store_get_path                   (TandemStore *self);
gboolean      tandem_store_delete_profile             (const char   *profile_dir,
                                                       GError      **error);
gboolean      tandem_store_check_integrity            (TandemStore  *self,
                                                       GError      **error);

/* identity */
guint64       tandem_store_get_peer_id                (TandemStore *self);
gboolean      tandem_store_get_peer_id_was_reset      (TandemStore *self);
char         *tandem_store_dup_display_name           (TandemStore *self);
gboolean      tandem_store_set_display_name           (TandemStore  *self,
                                                       const char   *name,
                                                       GError      **error);
char         *tandem_store_dup_colour                 (TandemStore *self);
gboolean      tandem_store_set_colour                 (TandemStore  *self,
                                                       const char   *colour,
                                                       GError      **error);
char         *tandem_store_dup_certificate_pem        (TandemStore *self);
char         *tandem_store_dup_private_key_pem        (TandemStore *self);
char         *tandem_store_dup_certificate_fingerprint (TandemStore *self);

/* notebooks and members */
const char   *tandem_store_get_private_notebook_id    (TandemStore *self);
char         *tandem_store_create_notebook            (TandemStore  *self,
                                                       const char   *name,
                                                       GError      **error);
gboolean      tandem_store_add_notebook               (TandemStore  *self,
                                                       const char   *id,
                                                       const char   *name,
                                                       GBytes       *secret_key,
                                                       GError      **error);
GPtrArray    *tandem_store_list_notebooks             (TandemStore  *self,
                                                       GError      **error);
TandemStoreNotebook *
              tandem_store_dup_notebook               (TandemStore  *self,
                                                       const char   *id,
                                                       GError      **error);
gboolean      tandem_store_set_field_policies         (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       const char   *policies,
                                                       GError      **error);
gboolean      tandem_store_set_notebook_name          (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       const char   *name,
                                                       GError      **error);
gboolean      tandem_store_set_notebook_key           (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       GBytes       *new_key,
                                                       GError      **error);
gboolean      tandem_store_add_member                 (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       guint64       peer_id,
                                                       const char   *name,
                                                       const char   *cert_fingerprint,
                                                       GError      **error);
gboolean      tandem_store_remove_member              (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       guint64       peer_id,
                                                       GError      **error);
TandemStoreMember *
              tandem_store_dup_member                 (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       guint64       peer_id,
                                                       GError      **error);
GPtrArray    *tandem_store_list_members               (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       GError      **error);
gboolean      tandem_store_update_member_version      (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       guint64       peer_id,
                                                       const char   *version,
                                                       GError      **error);

/* where peers were seen */
gboolean      tandem_store_remember_address           (TandemStore  *self,
                                                       guint64       peer_id,
                                                       const char   *host,
                                                       guint16       port,
                                                       GError      **error);
GPtrArray    *tandem_store_list_addresses             (TandemStore  *self,
                                                       GError      **error);

/* notes */
char         *tandem_store_create_note                (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       GError      **error);
gboolean      tandem_store_delete_note                (TandemStore  *self,
                                                       const char   *note_id,
                                                       GError      **error);
gboolean      tandem_store_add_note                   (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       const char   *note_id,
                                                       GError      **error);
GPtrArray    *tandem_store_list_notes                 (TandemStore  *self,
                                                       const char   *notebook_id,
                                                       GError      **error);
TandemStoreNoteInfo *tandem_store_dup_note_info       (TandemStore  *self,
                                                       const char   *note_id,
                                                       GError      **error);
gboolean      tandem_store_commit_note                (TandemStore                  *self,
                                                       const char                   *note_id,
                                                       const TandemStoreNoteUpdate  *update,
                                                       GError                      **error);
char         *tandem_store_load_note_text             (TandemStore  *self,
                                                       const char   *note_id,
                                                       GError      **error);
gboolean      tandem_store_load_note                  (TandemStore      *self,
                                                       const char       *note_id,
                                                       TandemStoreNote **out,
                                                       GError          **error);
GPtrArray    *tandem_store_list_versions              (TandemStore  *self,
                                                       const char   *note_id,
                                                       GError      **error);
gboolean      tandem_store_name_version               (TandemStore  *self,
                                                       const char   *note_id,
                                                       guint64       n_events,
                                                       const char   *name,
                                                       GError      **error);
gboolean      tandem_store_thin_versions              (TandemStore  *self,
                                                       gint64        older_than,
                                                       guint        *n_removed,
                                                       GError      **error);
gboolean      tandem_store_purge_trash                (TandemStore  *self,
                                                       gint64        trashed_before,
                                                       guint        *n_purged,
                                                       GError      **error);
gboolean      tandem_store_compact_note               (TandemStore  *self,
                                                       const char   *note_id,
                                                       GBytes       *full_log,
                                                       guint64       n_events,
                                                       GError      **error);

G_END_DECLS
