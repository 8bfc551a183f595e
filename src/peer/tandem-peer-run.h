/* tandem-peer-run.h: `tandem-peer run`, a real headless peer on JSON lines
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

int tandem_peer_run_main (int    argc,
                          char **argv);
