// capi/capi_errors.h: how the C APIs report errors (fieldsync/fieldsync.h's fieldsync_error).
//
// Internal, never installed; shared by core's C API (fieldsync_c.cc) and the replicator's
// (sync/src/capi/fieldsync_sync_c.cc, through a private include directory), so both write
// messages the same way: ill-formed UTF-8 and NUL bytes become U+FFFD, a message too long for the
// buffer is cut at a character boundary and marked with "...". Nothing here allocates or throws.
#pragma once

#include <string_view>

#include "fieldsync/fieldsync.h"
#include "fieldsync/status.h"

namespace fieldsync::capi {

// Fills *out (if not null) with code and message. Works when memory has run out.
void WriteError(fieldsync_error* out, int code, std::string_view message) noexcept;

// Reports a failed Status; returns false for `return Fail(...)` in bool functions.
bool Fail(fieldsync_error* out, const Status& status) noexcept;

// Reports the exception being handled as Internal. Called only from a catch block.
void ReportCurrentException(fieldsync_error* out) noexcept;

// False, with InvalidArgument naming the parameter, if p is NULL.
bool Required(const void* p, const char* name, fieldsync_error* out) noexcept;

}  // namespace fieldsync::capi

// Ends every entry point's try block: no exception crosses into C.
#define FIELDSYNC_CATCH(out_error)                        \
  catch (...) {                                           \
    ::fieldsync::capi::ReportCurrentException(out_error); \
  }
