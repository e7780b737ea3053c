// Package readfile reads the files a user names (specs, model files, images, classmaps) with
// two guards: the path must be a regular file (a FIFO would block and /dev/zero never end),
// and its size must be within the limit for its kind, so that no input makes Bonsai hang or
// allocate without bound.
package readfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is returned for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// Check returns an error unless path is a regular file of at most limit bytes (limit <= 0: no
// limit); what names the kind of file in the message ("spec file").
func Check(path, what string, limit int64) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is %s, %w: give the path of a file", what, path, kind(st.Mode()), ErrNotRegular)
	}
	if limit > 0 && st.Size() > limit {
		return nil, fmt.Errorf("%s %s is %d bytes, over the %d-byte limit for a %s: %w", what, path, st.Size(), limit, what, ErrTooLarge)
	}
	return st, nil
}

// Read reads the regular file at path of at most limit bytes (see Check). The limit also
// holds if the file grows while it is read.
func Read(path, what string, limit int64) ([]byte, error) {
	if _, err := Check(path, what, limit); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if limit > 0 {
		r = io.LimitReader(f, limit+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if limit > 0 && int64(len(data)) > limit {
		return nil, fmt.Errorf("%s %s grew over the %d-byte limit while being read: %w", what, path, limit, ErrTooLarge)
	}
	return data, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}
