/* tandem-event-codec.h: the JSON form of events and version vectors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "tandem-event.h"
#include "tandem-json.h"

G_BEGIN_DECLS

void                 tandem_json_add_field_value   (JsonBuilder *builder,
                                                    GVariant    *value);
JsonNode            *tandem_event_to_json          (const TandemEvent *event);
JsonNode            *tandem_event_to_json_after    (const TandemEvent *event,
                                                    const TandemEvent *previous);
TandemEvent         *tandem_event_from_json        (JsonNode          *node,
                                                    GError           **error);
TandemEvent         *tandem_event_from_json_after  (JsonNode          *node,
                                                    const TandemEvent *previous,
                                                    GError           **error);
JsonNode            *tandem_version_vector_to_json (const TandemVersionVector *vv);
TandemVersionVector *tandem_version_vector_from_json (JsonNode  *node,
                                                      GError   **error);
JsonNode            *tandem_events_to_json         (GPtrArray *events);
char                *tandem_events_to_string       (GPtrArray *events);
GPtrArray           *tandem_events_from_string     (const char  *json,
                                                    gssize       length,
                                                    GError     **error);
char                *tandem_peer_id_to_string      (guint64 peer);
gboolean             tandem_peer_id_from_string    (const char *str,
                                                    guint64    *peer);

G_END_DECLS
