package main

import (
	"bufio"
	"io"
)

// readLinesTmp stands in for tailer.ReadLines until the tailer package lands.
func readLinesTmp(r io.Reader, max int, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			continue
		}
		if len(long) > 0 {
			chunk = append(long, chunk...)
			long = long[:0]
		}
		if n := len(chunk); n > 0 && chunk[n-1] == '\n' {
			chunk = chunk[:n-1]
		} else if err == io.EOF && len(chunk) == 0 {
			return nil
		}
		if max > 0 && len(chunk) > max {
			chunk = chunk[:max]
		}
		fn(chunk)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
