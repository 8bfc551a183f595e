/* tandem-peer-private.h: what sync sessions need of their TandemPeer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-peer.h"
#include "tandem-saved-note.h"
#include "tandem-sync-session.h"

G_BEGIN_DECLS

/* A notebook this peer shares with others (never the private one). */
typedef struct
{
  char   *id;
  char   *name;
  GBytes *key;
  GBytes *previous_key;   /* before the last rotation, or NULL */
} TandemPeerNotebook;

const char         *_tandem_peer_get_name            (TandemPeer  *self);
const char         *_tandem_peer_get_colour          (TandemPeer  *self);
GPtrArray          *_tandem_peer_get_notebooks       (TandemPeer  *self);
TandemPeerNotebook *_tandem_peer_find_notebook       (TandemPeer  *self,
                                                      const char  *notebook_id);
gboolean            _tandem_peer_is_member           (TandemPeer  *self,
                                                      const char  *notebook_id,
                                                      guint64      peer_id,
                                                      const char  *fingerprint);
gboolean            _tandem_peer_admit_member        (TandemPeer  *self,
                                                      const char  *notebook_id,
                                                      guint64      peer_id,
                                                      const char  *name,
                                                      const char  *fingerprint,
                                                      GError     **error);
GPtrArray          *_tandem_peer_list_members        (TandemPeer  *self,
                                                      const char  *notebook_id);
void                _tandem_peer_rename_notebook     (TandemPeer  *self,
                                                      const char  *notebook_id,
                                                      const char  *name);
gboolean            _tandem_peer_rekey_notebook      (TandemPeer         *self,
                                                      TandemSyncSession  *from,
                                                      const char         *notebook_id,
                                                      GBytes             *key,
                                                      GPtrArray          *removed,
                                                      GError            **error);
GPtrArray          *_tandem_peer_list_note_ids       (TandemPeer  *self,
                                                      const char  *notebook_id);
TandemSavedNote    *_tandem_peer_open_note           (TandemPeer  *self,
                                                      const char  *notebook_id,
                                                      const char  *note_id,
                                                      gboolean     create,
                                                      GError     **error);
void                _tandem_peer_forget_note         (TandemPeer  *self,
                                                      const char  *note_id);
gboolean            _tandem_peer_apply_remote        (TandemPeer         *self,
                                                      TandemSyncSession  *from,
                                                      TandemSavedNote    *saved,
                                                      GPtrArray          *events,
                                                      gboolean           *settling,
                                                      GError            **error);
void                _tandem_peer_session_opened      (TandemPeer         *self,
                                                      TandemSyncSession  *session);
void                _tandem_peer_session_changed     (TandemPeer         *self,
                                                      TandemSyncSession  *session);
void                _tandem_peer_notice              (TandemPeer  *self,
                                                      const char  *format,
                                                      ...) G_GNUC_PRINTF (2, 3);
char               *_tandem_peer_note_checksum       (TandemNote  *note);
gboolean            _tandem_peer_repair_note         (TandemPeer      *self,
                                                      TandemSavedNote *saved);

G_END_DECLS
