/* tandem-discovery.h: finding other Tandem peers on the local network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The DNS-SD service type every Tandem peer publishes and browses. */
#define TANDEM_DISCOVERY_SERVICE_TYPE "_tandem._tcp"

#define TANDEM_TYPE_DISCOVERY (tandem_discovery_get_type ())
G_DECLARE_FINAL_TYPE (TandemDiscovery, tandem_discovery, TANDEM, DISCOVERY, GObject)

TandemDiscovery *tandem_discovery_new              (void);
gboolean         tandem_discovery_start            (TandemDiscovery     *self,
                                                    const char          *instance_name,
                                                    guint16              port,
                                                    const char * const  *txt,
                                                    GError             **error);
void             tandem_discovery_set_txt          (TandemDiscovery     *self,
                                                    const char * const  *txt);
void             tandem_discovery_stop             (TandemDiscovery     *self);
gboolean         tandem_discovery_is_running       (TandemDiscovery     *self);
const char      *tandem_discovery_get_service_name (TandemDiscovery     *self);

G_END_DECLS
