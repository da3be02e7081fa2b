// tests/core/forensics.h: reads a database the way an attacker holding the key would: decrypts
// every page of the main file and every WAL frame, live or not, including free pages. A value
// absent from this image is gone from the disk, not merely unreachable through SQL.
#pragma once

#include <string>

#include "crypto/key_header.h"
#include "crypto/page_cipher.h"
#include "fieldsync/key_provider.h"
#include "test_util.h"

namespace fieldsync::testing {

// The page cipher of a database, built from its header and key as the VFS builds it.
inline std::unique_ptr<crypto::PageCipher> CipherFor(const std::string& path,
                                                     const KeyProvider& key) {
  auto header = crypto::ParseHeader(ReadAll(path).substr(0, crypto::kHeaderSize));
  if (!header.ok()) return nullptr;
  const crypto::KeySlot& slot = *header->slots[header->ActiveSlot()];
  auto kek = key.DeriveKek(slot.kek);
  if (!kek.ok()) return nullptr;
  auto data_key = crypto::UnwrapDataKey(*header, slot, *kek);
  if (!data_key.ok()) return nullptr;
  return crypto::PageCipher::New(data_key->data(), header->database_id, slot.data_key_id,
                                 crypto::kPageSize);
}

inline std::string DecryptedImage(const std::string& path, const KeyProvider& key) {
  const std::string file = ReadAll(path);
  auto cipher = CipherFor(path, key);
  if (!cipher) return {};
  const size_t page = crypto::kPageSize;
  std::string image;
  for (size_t at = crypto::kHeaderSize, pgno = 1; at + page <= file.size(); at += page, ++pgno) {
    std::string p = file.substr(at, page);
    auto* bytes = reinterpret_cast<uint8_t*>(p.data());
    if (cipher->OpenInPlace(crypto::PageKind::kDatabase, static_cast<uint32_t>(pgno), bytes)) {
      image += p;
    }
  }
  const std::string wal = ReadAll(path + "-wal");
  for (size_t at = 32; at + 24 + page <= wal.size(); at += 24 + page) {
    const auto* h = reinterpret_cast<const uint8_t*>(wal.data() + at);
    const uint32_t pgno =
        (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
    std::string p = wal.substr(at + 24, page);
    auto* bytes = reinterpret_cast<uint8_t*>(p.data());
    if (cipher->WalImageToDatabaseImage(pgno, h + 4, bytes) &&
        cipher->OpenInPlace(crypto::PageKind::kDatabase, pgno, bytes)) {
      image += p;
    }
  }
  return image;
}

}  // namespace fieldsync::testing
