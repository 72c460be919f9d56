// TLS material checked before a connection uses it, so a bad file is reported by name and
// reason (an expired client certificate, a key that is not its, a CA file with no
// certificate) rather than as a failed handshake; and OpenSSL's error text for HttpSend.
// Thread-safe (OpenSSL's error queue is per thread).
#pragma once

#include <string>

#include "base/error.h"
#include "base/http.h"

namespace berth {

// Reads the files `tls` names: the CA file must hold at least one certificate; the client
// certificate must be valid now and `key_file` its key; a certificate without a key (or a key
// without one) is refused. Empty names are skipped. Failure: kInvalidArgument naming the
// file and what is wrong ("expired on Jan  2 00:00:00 2020 GMT", "not valid before ...",
// "the key is not the certificate's", "holds no PEM certificate"); the file's errno Error
// when it cannot be read.
[[nodiscard]] Result<void> CheckTlsFiles(const HttpTls& tls);

// The reason of the oldest OpenSSL error on this thread, the cause ("" when there is none);
// empties the thread's error queue.
std::string TakeTlsErrorReason();

// The text of an X509 verification result ("certificate has expired", ...).
std::string TlsVerifyResultText(long result);

}  // namespace berth
