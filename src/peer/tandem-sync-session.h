/* tandem-sync-session.h: the sync protocol over one connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tandem-transport.h"
#include "tandem-version-vector.h"

G_BEGIN_DECLS

typedef struct _TandemPeer TandemPeer;
typedef struct _TandemSavedNote TandemSavedNote;

/* Liveness: a ping after this much silence from us, and the link is dead
 * after this much silence from them. */
#define TANDEM_SESSION_PING_MS       2000
#define TANDEM_SESSION_DEAD_MS       8000
/* A connection that proves no common notebook by then is closed. */
#define TANDEM_SESSION_HANDSHAKE_MS 15000
/* Events from one peer that may wait for missing parents, per note. */
#define TANDEM_SESSION_MAX_PENDING  20000

/**
 * TandemPresence:
 * @state: "online" or "idle"
 * @note_id: (nullable): the note they have open
 * @pos: their cursor, in code points of this peer's text, or -1
 * @anchor: the other end of their selection, or -1
 */
typedef struct
{
  char *state;
  char *note_id;
  gint64 pos;
  gint64 anchor;
} TandemPresence;

void tandem_presence_free (TandemPresence *presence);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemPresence, tandem_presence_free)

#define TANDEM_TYPE_SYNC_SESSION (tandem_sync_session_get_type ())

G_DECLARE_FINAL_TYPE (TandemSyncSession, tandem_sync_session, TANDEM, SYNC_SESSION, GObject)

TandemSyncSession *tandem_sync_session_new              (TandemPeer        *peer,
                                                         TandemTransport   *transport);
void               tandem_sync_session_start            (TandemSyncSession *self);
void               tandem_sync_session_close            (TandemSyncSession *self,
                                                         const char        *reason);
TandemTransport   *tandem_sync_session_get_transport    (TandemSyncSession *self);
guint64            tandem_sync_session_get_remote_peer  (TandemSyncSession *self);
const char        *tandem_sync_session_get_remote_name  (TandemSyncSession *self);
const char        *tandem_sync_session_get_remote_colour (TandemSyncSession *self);
gboolean           tandem_sync_session_is_open          (TandemSyncSession *self);
gboolean           tandem_sync_session_has_notebook     (TandemSyncSession *self,
                                                         const char        *notebook_id);
GPtrArray         *tandem_sync_session_dup_notebooks    (TandemSyncSession *self);
void               tandem_sync_session_offer_notebook   (TandemSyncSession *self,
                                                         const char        *notebook_id);
void               tandem_sync_session_send_members     (TandemSyncSession *self,
                                                         const char        *notebook_id);
void               tandem_sync_session_push_note        (TandemSyncSession *self,
                                                         const char        *notebook_id,
                                                         TandemSavedNote   *saved);
void               tandem_sync_session_send_rekey       (TandemSyncSession *self,
                                                         const char        *notebook_id,
                                                         GBytes            *key,
                                                         GPtrArray         *removed);
void               tandem_sync_session_send_presence    (TandemSyncSession *self,
                                                         const char        *state,
                                                         const char        *notebook_id,
                                                         TandemSavedNote   *saved,
                                                         gint64             pos,
                                                         gint64             anchor);
gboolean           tandem_sync_session_is_synced        (TandemSyncSession *self,
                                                         const char       **reason);
TandemPresence    *tandem_sync_session_dup_presence     (TandemSyncSession *self);
const char        *tandem_sync_session_get_presence_note (TandemSyncSession *self);
const char        *tandem_sync_session_get_presence_state (TandemSyncSession *self);
void               tandem_sync_session_send_have        (TandemSyncSession *self,
                                                         const char        *notebook_id,
                                                         TandemSavedNote   *saved);
void               tandem_sync_session_send_neighbors   (TandemSyncSession *self,
                                                         const char        *notebook_id,
                                                         GArray            *peers);
gboolean           tandem_sync_session_skip_relay       (TandemSyncSession         *self,
                                                         const char                *notebook_id,
                                                         const char                *note_id,
                                                         GArray                    *authors,
                                                         const TandemVersionVector *version);

G_END_DECLS
