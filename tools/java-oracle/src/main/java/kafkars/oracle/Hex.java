package kafkars.oracle;

import java.nio.ByteBuffer;

/** Lowercase hex without separators. */
final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {
    }

    static String encode(byte[] a) {
        return encode(a, 0, a.length);
    }

    static String encode(byte[] a, int off, int len) {
        char[] out = new char[len * 2];
        for (int i = 0; i < len; i++) {
            int b = a[off + i] & 0xff;
            out[2 * i] = DIGITS[b >>> 4];
            out[2 * i + 1] = DIGITS[b & 0xf];
        }
        return new String(out);
    }

    static String encode(ByteBuffer buf) {
        ByteBuffer d = buf.duplicate();
        byte[] a = new byte[d.remaining()];
        d.get(a);
        return encode(a);
    }

    private static int nibble(char c, int pos) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        throw new IllegalArgumentException("bad hex digit at " + pos);
    }

    /** Accepts upper or lower case; "-" is accepted as the empty byte string. */
    static byte[] decode(String s) {
        if (s.equals("-")) {
            return new byte[0];
        }
        if ((s.length() & 1) != 0) {
            throw new IllegalArgumentException("odd hex length " + s.length());
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) ((nibble(s.charAt(2 * i), 2 * i) << 4) | nibble(s.charAt(2 * i + 1), 2 * i + 1));
        }
        return out;
    }
}
