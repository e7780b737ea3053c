package modelfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Encrypted file layout (extension .safetensors.enc):
//
//	10 bytes   magic "BONSAIENC1"
//	 4 bytes   little-endian uint32: PBKDF2-HMAC-SHA256 iteration count
//	16 bytes   random salt
//	12 bytes   random GCM nonce
//	rest       AES-256-GCM ciphertext of the plain safetensors file, with its 16-byte tag
//
// The key is derived from the passphrase with PBKDF2 (Go's standard library, so no extra
// dependency); the 42 header bytes are the GCM additional data, so changing any of them also
// fails authentication.
const (
	encMagic      = "BONSAIENC1"
	saltLen       = 16
	nonceLen      = 12
	encHeaderLen  = len(encMagic) + 4 + saltLen + nonceLen
	kdfIterations = 600_000 // OWASP's 2023 figure for PBKDF2-HMAC-SHA256
	// maxIterations bounds the count read from a file, so a damaged header cannot stall Load.
	maxIterations = 10_000_000
)

func isEncrypted(data []byte) bool { return bytes.HasPrefix(data, []byte(encMagic)) }

// encrypt seals plain with a key derived from passphrase.
func encrypt(plain []byte, passphrase string) ([]byte, error) {
	header := make([]byte, encHeaderLen)
	copy(header, encMagic)
	binary.LittleEndian.PutUint32(header[len(encMagic):], kdfIterations)
	salt := header[len(encMagic)+4 : len(encMagic)+4+saltLen]
	nonce := header[len(encMagic)+4+saltLen:]
	if _, err := rand.Read(header[len(encMagic)+4:]); err != nil {
		return nil, fmt.Errorf("drawing salt and nonce: %w", err)
	}
	gcm, err := newGCM(passphrase, salt, kdfIterations)
	if err != nil {
		return nil, err
	}
	out := make([]byte, encHeaderLen, encHeaderLen+len(plain)+gcm.Overhead())
	copy(out, header)
	return gcm.Seal(out, nonce, plain, header), nil
}

// decrypt opens data written by encrypt; a wrong key or any change to the bytes gives ErrWrongKey.
func decrypt(data []byte, passphrase string) ([]byte, error) {
	if len(data) < encHeaderLen+16 {
		return nil, fmt.Errorf("%w: encrypted file of %d bytes is too short (truncated?)", ErrCorrupt, len(data))
	}
	header := data[:encHeaderLen]
	iterations := binary.LittleEndian.Uint32(header[len(encMagic):])
	if iterations == 0 || iterations > maxIterations {
		return nil, fmt.Errorf("%w: encryption header has an invalid iteration count %d", ErrCorrupt, iterations)
	}
	salt := header[len(encMagic)+4 : len(encMagic)+4+saltLen]
	nonce := header[len(encMagic)+4+saltLen:]
	gcm, err := newGCM(passphrase, salt, int(iterations))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, data[encHeaderLen:], header)
	if err != nil {
		return nil, fmt.Errorf("%w; if the key is right, the file is damaged", ErrWrongKey)
	}
	return plain, nil
}

// newGCM derives a 256-bit key and returns the AES-GCM cipher for it.
func newGCM(passphrase string, salt []byte, iterations int) (cipher.AEAD, error) {
	key, err := pbkdf2.Key(sha256.New, passphrase, salt, iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
