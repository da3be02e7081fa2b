// capi/capi_errors.cc: error reporting shared by the C APIs (capi_errors.h).
#include "capi/capi_errors.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "text/utf8.h"

namespace fieldsync::capi {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 if the bytes there are ill-formed.
size_t Utf8SequenceLength(std::string_view s, size_t i) noexcept {
  char32_t cp = 0;
  size_t consumed = 0;
  return text::DecodeUtf8(s, i, &cp, &consumed);
}

}  // namespace

// The message is copied character by character so a host can hand it to a UI as is: each
// ill-formed byte and each NUL (a message may quote input) becomes U+FFFD.
void WriteError(fieldsync_error* out, int code, std::string_view message) noexcept {
  if (out == nullptr) return;
  out->code = code;
  constexpr size_t kCapacity = FIELDSYNC_ERROR_MESSAGE_SIZE - 1;  // bytes before the NUL
  constexpr char kEllipsis[] = "...";
  constexpr size_t kEllipsisSize = sizeof(kEllipsis) - 1;
  constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  char* dst = out->message;
  size_t written = 0;
  size_t cut = 0;  // the last character boundary that leaves room for the ellipsis
  for (size_t i = 0; i < message.size();) {
    const char* piece = message.data() + i;
    size_t n = message[i] == '\0' ? 0 : Utf8SequenceLength(message, i);
    if (n == 0) {
      piece = kReplacement;
      n = sizeof(kReplacement) - 1;
      i += 1;
    } else {
      i += n;
    }
    if (written + n > kCapacity) {
      std::memcpy(dst + cut, kEllipsis, kEllipsisSize);
      written = cut + kEllipsisSize;
      break;
    }
    std::memcpy(dst + written, piece, n);
    written += n;
    if (written + kEllipsisSize <= kCapacity) cut = written;
  }
  dst[written] = '\0';
}

// Reports a failed Status; returns false for `return Fail(...)` in bool functions.
bool Fail(fieldsync_error* out, const Status& status) noexcept {
  WriteError(out, static_cast<int>(status.code()), status.message());
  return false;
}

// Reports the exception being handled. Called only from a catch block.
void ReportCurrentException(fieldsync_error* out) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    WriteError(out, FIELDSYNC_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    char message[FIELDSYNC_ERROR_MESSAGE_SIZE];
    std::snprintf(message, sizeof(message), "internal error: unexpected exception: %s", e.what());
    WriteError(out, FIELDSYNC_ERR_INTERNAL, message);
  } catch (...) {
    WriteError(out, FIELDSYNC_ERR_INTERNAL, "internal error: unexpected non-standard exception");
  }
}

// False, with InvalidArgument naming the parameter, if p is NULL.
bool Required(const void* p, const char* name, fieldsync_error* out) noexcept {
  if (p != nullptr) return true;
  return Fail(out, Status::InvalidArgument(std::string(name) + " must not be NULL"));
}

}  // namespace fieldsync::capi
