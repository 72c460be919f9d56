#include "base/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include <fmt/core.h>

#include "base/file.h"
#include "base/text.h"

namespace berth {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// `pem` as a read-only memory BIO (the string outlives it).
BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Never asks for a passphrase (OpenSSL's default would prompt on the terminal): an encrypted
// key is refused instead.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string TimeText(const ASN1_TIME* t) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || ASN1_TIME_print(out.get(), t) != 1) return "an unreadable date";
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string("an unreadable date");
}

std::unexpected<Error> BadFile(std::string_view what, const std::string& path, std::string_view why) {
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("the {} {}: {}", what, CommentText(path), why));
}

Result<X509Ptr> ReadCertificate(const std::string& path, std::string_view what) {
  const std::string pem = BERTH_TRY(ReadSmallFile(path));
  BioPtr bio = MemBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!cert) return BadFile(what, path, "holds no PEM certificate");
  return cert;
}

}  // namespace

std::string TakeTlsErrorReason() {
  // The oldest error is the cause; later ones are consequences (httplib's SSL_shutdown after a
  // failed handshake adds "shutdown while in init").
  const unsigned long first = ERR_get_error();
  while (ERR_get_error() != 0) {
  }
  if (first == 0) return {};
  const char* reason = ERR_reason_error_string(first);
  return reason != nullptr ? std::string(reason) : fmt::format("OpenSSL error {:#x}", first);
}

std::string TlsVerifyResultText(long result) {
  const char* text = X509_verify_cert_error_string(result);
  return text != nullptr ? std::string(text) : fmt::format("X509 error {}", result);
}

Result<void> CheckTlsFiles(const HttpTls& tls) {
  if (!tls.ca_file.empty()) {
    const std::string pem = BERTH_TRY(ReadSmallFile(tls.ca_file));
    BioPtr bio = MemBio(pem);
    X509Ptr first(bio ? PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
    ERR_clear_error();
    if (!first) return BadFile("CA file", tls.ca_file, "holds no PEM certificate");
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                tls.cert_file.empty()
                    ? fmt::format("a client key ({}) without its certificate: give both or neither",
                                  CommentText(tls.key_file))
                    : fmt::format("a client certificate ({}) without its key: give both or neither",
                                  CommentText(tls.cert_file)));
  }
  if (tls.cert_file.empty()) return {};
  X509Ptr cert = BERTH_TRY(ReadCertificate(tls.cert_file, "client certificate"));
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return BadFile("client certificate", tls.cert_file,
                   fmt::format("expired on {}; renew it", TimeText(X509_get0_notAfter(cert.get()))));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
    return BadFile("client certificate", tls.cert_file,
                   fmt::format("not valid before {} (is this machine's clock right?)",
                               TimeText(X509_get0_notBefore(cert.get()))));
  }
  const std::string key_pem = BERTH_TRY(ReadSmallFile(tls.key_file));
  BioPtr bio = MemBio(key_pem);
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return BadFile("client key", tls.key_file, "holds no unencrypted PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return BadFile("client key", tls.key_file,
                   fmt::format("is not the key of the certificate {}", CommentText(tls.cert_file)));
  }
  return {};
}

}  // namespace berth
