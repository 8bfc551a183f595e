/* tandem-engine-error.h: errors of the sync engine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TANDEM_ENGINE_ERROR (tandem_engine_error_quark ())

/**
 * TandemEngineError:
 * @TANDEM_ENGINE_ERROR_FAILED: something else went wrong
 * @TANDEM_ENGINE_ERROR_INVALID_EVENT: an event is malformed (bad UTF-8, a NUL,
 *   a length that does not match its text, an unknown operation)
 * @TANDEM_ENGINE_ERROR_INVALID_POSITION: an event reaches outside the text
 *   at its parents
 * @TANDEM_ENGINE_ERROR_INVALID_FIELD: a field write does not fit the field
 * @TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO: undo or redo found nothing to do
 *
 * Every rejected event leaves the note unchanged.
 */
typedef enum
{
  TANDEM_ENGINE_ERROR_FAILED,
  TANDEM_ENGINE_ERROR_INVALID_EVENT,
  TANDEM_ENGINE_ERROR_INVALID_POSITION,
  TANDEM_ENGINE_ERROR_INVALID_FIELD,
  TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO,
} TandemEngineError;

GQuark tandem_engine_error_quark (void);

G_END_DECLS
