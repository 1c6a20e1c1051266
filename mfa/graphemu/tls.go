package graphemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"time"
)

// tlsConfig returns the TLS configuration for StartTLS: Options.TLSCertificate, or a self-signed
// certificate made for host, loopback and localhost. It remembers the certificate for Client and
// CertificatePEM.
func (s *Server) tlsConfig(host string) (*tls.Config, error) {
	s.tlsMu.Lock()
	cert := s.tlsCert
	s.tlsMu.Unlock()
	if cert == nil {
		var err error
		if cert, err = selfSigned(host); err != nil {
			return nil, err
		}
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(leaf)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 64
	s.tlsMu.Lock()
	s.tlsCert = cert
	s.tlsPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	s.client = &http.Client{Transport: tr}
	s.tlsMu.Unlock()
	return &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}, nil
}

// selfSigned makes an ECDSA certificate valid for ten years for host, 127.0.0.1, ::1 and localhost.
func selfSigned(host string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mfaportal graph emulator", Organization: []string{"mfaportal test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Client returns an HTTP client for this server: after StartTLS it trusts the server's certificate
// (give it to azidentity and the Graph SDK as their transport); otherwise it is a plain client.
func (s *Server) Client() *http.Client {
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	if s.client != nil {
		return s.client
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// CertificatePEM returns the certificate StartTLS serves (nil before StartTLS), PEM-encoded.
func (s *Server) CertificatePEM() []byte {
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	return s.tlsPEM
}
