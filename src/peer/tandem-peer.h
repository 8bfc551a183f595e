/* tandem-peer.h: one running replica — store, notebooks and network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tandem-saved-note.h"
#include "tandem-store.h"
#include "tandem-sync-session.h"
#include "tandem-transport.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_PEER (tandem_peer_get_type ())

G_DECLARE_FINAL_TYPE (TandemPeer, tandem_peer, TANDEM, PEER, GObject)

TandemPeer      *tandem_peer_new                (TandemStore  *store,
                                                 GError      **error);
gboolean         tandem_peer_start              (TandemPeer   *self,
                                                 guint16       port,
                                                 gboolean      discovery,
                                                 GError      **error);
void             tandem_peer_stop               (TandemPeer   *self);
TandemStore     *tandem_peer_get_store          (TandemPeer   *self);
guint64          tandem_peer_get_id             (TandemPeer   *self);
guint16          tandem_peer_get_port           (TandemPeer   *self);
const char      *tandem_peer_get_fingerprint    (TandemPeer   *self);

/* connections */
gboolean         tandem_peer_parse_address      (const char      *address,
                                                 char           **host,
                                                 guint16         *port);
void             tandem_peer_connect_to         (TandemPeer      *self,
                                                 const char      *host,
                                                 guint16          port);
void             tandem_peer_add_transport      (TandemPeer      *self,
                                                 TandemTransport *transport);
GPtrArray       *tandem_peer_get_sessions       (TandemPeer      *self);
gboolean         tandem_peer_is_synced          (TandemPeer      *self,
                                                 const char     **reason);
void             tandem_peer_set_presence       (TandemPeer      *self,
                                                 const char      *state,
                                                 const char      *note_id,
                                                 gint64           pos,
                                                 gint64           anchor);

/* notebooks */
char            *tandem_peer_create_notebook    (TandemPeer   *self,
                                                 const char   *name,
                                                 GError      **error);
char            *tandem_peer_dup_invite         (TandemPeer   *self,
                                                 const char   *notebook_id,
                                                 GError      **error);
char            *tandem_peer_join               (TandemPeer   *self,
                                                 const char   *invite,
                                                 GError      **error);
gboolean         tandem_peer_remove_member      (TandemPeer   *self,
                                                 const char   *notebook_id,
                                                 guint64       peer_id,
                                                 GError      **error);
gboolean         tandem_peer_set_field_policy   (TandemPeer   *self,
                                                 const char   *notebook_id,
                                                 const char   *field,
                                                 const char   *policy,
                                                 GError      **error);

/* notes */
TandemSavedNote *tandem_peer_create_note        (TandemPeer   *self,
                                                 const char   *notebook_id,
                                                 GError      **error);
TandemSavedNote *tandem_peer_get_note           (TandemPeer   *self,
                                                 const char   *note_id,
                                                 GError      **error);
const char      *tandem_peer_get_note_notebook  (TandemPeer   *self,
                                                 const char   *note_id);
gboolean         tandem_peer_commit             (TandemPeer      *self,
                                                 TandemSavedNote *saved,
                                                 GError         **error);

G_END_DECLS
