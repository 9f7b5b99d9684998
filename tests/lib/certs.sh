# certs.sh -- the throwaway TLS certificates of the tests that speak HTTPS
# (the proxy's TLS listener and https backends, the Azure stand-ins), made
# by openssl in the test's own temporary folder so nothing real is trusted
# and nothing outlives the test. Source it; it defines:
#   test_certs DIR NAME CN SAN
#     a CA (DIR/ca.pem, DIR/ca.key) and a certificate for subject CN with
#     subjectAltName SAN signed by it (DIR/NAME.pem, DIR/NAME.key), valid
#     2 days; returns 1 with a FAIL line if openssl made no certificate.
test_certs() {
    local dir=$1 name=$2 cn=$3 san=$4
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=llmtap test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$dir/$name.key" -out "$dir/$name.csr" >/dev/null 2>&1
    printf 'subjectAltName=%s\n' "$san" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/$name.ext" -out "$dir/$name.pem" >/dev/null 2>&1
    [ -s "$dir/$name.pem" ] || { echo "FAIL: openssl could not make the test certificates in $dir"; return 1; }
}
