/* tandem-json.h: JSON as peers must write and read it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

char       *tandem_json_to_string (JsonNode   *node,
                                   gsize      *length);
const char *tandem_json_check     (const char *json,
                                   gssize      length,
                                   guint       max_depth);
gboolean    tandem_json_has_nul   (const char *json,
                                   gssize      length);

G_END_DECLS
