// tests/support/tls_material.h: a self-signed certificate for 127.0.0.1 made with OpenSSL 3,
// for tests that serve HTTPS on loopback (the HTTP client's and the server's). It also gives the
// libcurl pins of its key and of an unrelated key, so a test can show both a pinned success and
// a refused mismatch. Nothing here is a secret worth keeping: every key lives for one test.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace fieldsync::testing {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

inline Pkey NewEcKey() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

// libcurl's pin format: sha256// + base64(SHA-256(DER SubjectPublicKeyInfo)).
inline std::string PinOf(EVP_PKEY* key) {
  const int der_len = i2d_PUBKEY(key, nullptr);
  if (der_len <= 0) return {};
  std::vector<unsigned char> der(static_cast<size_t>(der_len));
  unsigned char* out = der.data();
  i2d_PUBKEY(key, &out);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(der.data(), der.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  unsigned char b64[4 * EVP_MAX_MD_SIZE];
  const int b64_len = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
  return "sha256//" + std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(b64_len));
}

// A self-signed certificate for IP 127.0.0.1 (and nothing else: not "localhost"), its key, and
// pins for its key and for an unrelated key, written to a temporary directory.
struct TlsMaterial {
  std::string dir;
  std::string cert_path;
  std::string key_path;
  std::string public_key_path;
  std::string pin;
  std::string other_pin;
  bool ok = false;

  TlsMaterial() {
    std::string templ = (std::filesystem::temp_directory_path() / "fieldsync_tls_XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) return;
    dir = templ;
    cert_path = dir + "/cert.pem";
    key_path = dir + "/key.pem";
    public_key_path = dir + "/public_key.pem";
    Pkey key = NewEcKey();
    Pkey other = NewEcKey();
    std::unique_ptr<X509, X509Deleter> cert(X509_new());
    if (!key || !other || !cert) return;
    X509* x = cert.get();
    X509_set_version(x, 2);  // v3, for the subjectAltName extension
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("fieldsync test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx{};
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    if (san == nullptr) return;
    const bool added = X509_add_ext(x, san, -1) == 1;
    X509_EXTENSION_free(san);
    if (!added || X509_sign(x, key.get(), EVP_sha256()) <= 0) return;

    std::unique_ptr<BIO, BioDeleter> cert_out(BIO_new_file(cert_path.c_str(), "w"));
    std::unique_ptr<BIO, BioDeleter> key_out(BIO_new_file(key_path.c_str(), "w"));
    std::unique_ptr<BIO, BioDeleter> pub_out(BIO_new_file(public_key_path.c_str(), "w"));
    if (!cert_out || !key_out || !pub_out) return;
    if (PEM_write_bio_X509(cert_out.get(), x) != 1 ||
        PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1 ||
        PEM_write_bio_PUBKEY(pub_out.get(), key.get()) != 1) {
      return;
    }
    pin = PinOf(key.get());
    other_pin = PinOf(other.get());
    ok = !pin.empty() && !other_pin.empty();
  }
  ~TlsMaterial() {
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;
};

}  // namespace fieldsync::testing
