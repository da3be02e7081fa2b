// crypto/key_header.h: the 4096-byte header in front of every fieldsync database file.
//
// The physical file is this header followed by SQLite's pages (the VFS shifts every database
// offset by kHeaderSize). The header is the only plaintext in the file; it holds no secret:
//
//   offset size  field
//   0      8     magic "FSYNCDB\0"
//   8      2     format version (1), big-endian like every integer here
//   10     2     page size (4096)
//   12     1     reserved bytes per page (36, see page_cipher.h)
//   13     1     cipher (1 = AES-256-GCM)
//   14     2     zero
//   16     16    database id (random, fixed for the life of the database)
//   32     32    zero
//   1024   1024  key slot A
//   2048   1024  key slot B
//   3072   1024  zero
//
// A key slot wraps the data key under a key-encryption key (KEK):
//
//   0   4   magic "FSKS"
//   4   8   generation; the valid slot with the highest generation is the active one
//   12  1   KEK kind (1 scrypt passphrase, 2 raw host key + HKDF)
//   13  3   zero
//   16  8   scrypt N     24  4  scrypt r     28  4  scrypt p      (zero for raw keys)
//   32  32  salt
//   64  8   data-key id (random per data key; shown by `info`, repeated as the page key hint)
//   72  12  wrap nonce
//   84  32  wrapped data key (AES-256-GCM; associated data: header bytes 0..63 + slot bytes 0..71)
//   116 16  wrap tag
//   132 32  SHA-256 of header bytes 0..63 + slot bytes 0..131: tells a torn or damaged slot
//           (Corruption) from a wrong key (the tag fails while the checksum holds: WrongKey)
//
// Two slots make a passphrase change crash-safe: the new wrapping goes into the inactive slot
// with generation + 1 and is synced before the old slot is zeroed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/page_cipher.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/secret.h"
#include "fieldsync/status.h"

namespace fieldsync::crypto {

inline constexpr size_t kHeaderSize = 4096;
inline constexpr size_t kCommonSize = 64;
inline constexpr size_t kSlotOffset[2] = {1024, 2048};
inline constexpr size_t kSlotSize = 1024;
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint16_t kPageSize = 4096;
inline constexpr uint8_t kCipherAes256Gcm = 1;

struct KeySlot {
  uint64_t generation = 0;
  KekSpec kek;
  std::array<uint8_t, kKeyIdSize> data_key_id{};
  std::array<uint8_t, kNonceSize> wrap_nonce{};
  std::array<uint8_t, kKeySize> wrapped_key{};
  std::array<uint8_t, kTagSize> wrap_tag{};
};

struct DatabaseHeader {
  uint16_t format_version = kFormatVersion;
  uint16_t page_size = kPageSize;
  uint8_t reserve_bytes = kPageReserve;
  uint8_t cipher = kCipherAes256Gcm;
  std::array<uint8_t, kDatabaseIdSize> database_id{};
  std::optional<KeySlot> slots[2];  // a slot is present only if its magic and checksum hold

  // Index of the valid slot with the highest generation, or -1.
  int ActiveSlot() const;
};

// Parses the first kHeaderSize bytes of a file. Corruption if it is not a fieldsync database
// (with a distinct message for a plaintext SQLite file) or no slot is valid.
Result<DatabaseHeader> ParseHeader(std::string_view bytes);

// The 64 common bytes.
std::string SerializeCommon(const DatabaseHeader& header);
// The kSlotSize bytes of one slot, checksum included.
std::string SerializeSlot(const DatabaseHeader& header, const KeySlot& slot);
// A whole header with `slot` in position `index` and the other slot zeroed.
std::string SerializeHeader(const DatabaseHeader& header, const KeySlot& slot, int index);

// Fills slot.wrap_nonce, wrapped_key and wrap_tag by sealing data_key under kek; the other slot
// fields must already be set (they are authenticated).
Status WrapDataKey(const DatabaseHeader& header, const SecretBytes& kek,
                   const SecretBytes& data_key, KeySlot* slot);
// WrongKey if kek does not unwrap the slot.
Result<SecretBytes> UnwrapDataKey(const DatabaseHeader& header, const KeySlot& slot,
                                  const SecretBytes& kek);

std::string ToHex(const uint8_t* data, size_t size);

}  // namespace fieldsync::crypto
