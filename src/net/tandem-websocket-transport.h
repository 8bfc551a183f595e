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

G_END_DECLS
