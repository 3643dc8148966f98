package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Conn is a raw RESP connection that returns replies as their exact bytes.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
}

// Dial connects to addr.
func Dial(addr string) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Encode encodes args as a RESP multibulk request.
func Encode(args [][]byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n", len(a))
		b.Write(a)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// WriteRaw sends bytes as they are.
func (c *Conn) WriteRaw(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// Do sends one command and returns the raw bytes of its reply.
func (c *Conn) Do(args ...[]byte) ([]byte, error) {
	if err := c.WriteRaw(Encode(args)); err != nil {
		return nil, err
	}
	return c.ReadReply(10 * time.Second)
}

// DoStrings is Do with string arguments.
func (c *Conn) DoStrings(args ...string) ([]byte, error) {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return c.Do(b...)
}

// ReadReply reads one whole reply (any RESP2/RESP3 type) and returns its bytes.
func (c *Conn) ReadReply(timeout time.Duration) ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	var out bytes.Buffer
	if err := readValue(c.r, &out); err != nil {
		return out.Bytes(), err
	}
	return out.Bytes(), nil
}

func readLine(r *bufio.Reader, out *bytes.Buffer) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	out.Write(line)
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed line %q", line)
	}
	return line[:len(line)-2], nil
}

func readValue(r *bufio.Reader, out *bytes.Buffer) error {
	line, err := readLine(r, out)
	if err != nil {
		return err
	}
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return nil
	case '$', '=', '!':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return err
		}
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf)
		return nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := readValue(r, out); err != nil {
				return err
			}
		}
		if line[0] == '|' { // an attribute precedes the real reply
			return readValue(r, out)
		}
		return nil
	}
	return fmt.Errorf("unknown reply type %q", line)
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadValue reads one RESP value from r, appending its raw bytes to out.
func ReadValue(r *bufio.Reader, out *bytes.Buffer) error { return readValue(r, out) }
