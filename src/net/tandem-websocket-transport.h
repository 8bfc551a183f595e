/* tandem-websocket-transport.h: a transport over a libsoup WebSocket with TLS
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "tandem-transport.h"

G_BEGIN_DECLS

/* The path peers serve the sync protocol on. */
#define TANDEM_WEBSOCKET_PATH "/tandem/1"

/* libsoup keeps every frame it could not write yet in memory, without a
 * limit, so a peer that stops reading would grow ours for as long as the
 * link lasts. WebSocket pings go out this often, queued behind what was
 * sent before them, so a pong says the other side has read all that; the
 * link is closed when no pong has come back for TANDEM_WEBSOCKET_UNREAD_MS:
 * the other side reads nothing, or is that far behind. It catches up
 * through have/want when it connects again (a catch-up too large to read
 * in that time goes on from what it has acknowledged). */
#define TANDEM_WEBSOCKET_PING_S     2
#define TANDEM_WEBSOCKET_UNREAD_MS  8000

#define TANDEM_TYPE_WEBSOCKET_TRANSPORT (tandem_websocket_transport_get_type ())

G_DECLARE_FINAL_TYPE (TandemWebsocketTransport, tandem_websocket_transport, TANDEM, WEBSOCKET_TRANSPORT, TandemTransport)

TandemTransport *tandem_websocket_transport_new            (SoupWebsocketConnection *connection,
                                                            TandemRole               role,
                                                            const char              *local_fingerprint,
                                                            const char              *remote_fingerprint,
                                                            const char              *remote_host);
void             tandem_websocket_transport_connect_async  (const char              *host,
                                                            guint16                  port,
                                                            GTlsCertificate         *certificate,
                                                            const char              *pinned_fingerprint,
                                                            GCancellable            *cancellable,
                                                            GAsyncReadyCallback      callback,
                                                            gpointer                 user_data);
TandemTransport *tandem_websocket_transport_connect_finish (GAsyncResult            *result,
                                                            GError                 **error);

char            *tandem_certificate_fingerprint            (GTlsCertificate         *certificate);
void             tandem_websocket_set_no_delay             (GSocketConnection       *connection);

G_END_DECLS
