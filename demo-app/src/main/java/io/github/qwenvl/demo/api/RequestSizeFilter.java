package io.github.qwenvl.demo.api;

import io.github.qwenvl.demo.DemoProperties;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Caps request bodies of the APIs ({@code demo.max-request-size}): JSON bodies carry images as data URLs
 * and have no limit of their own. A declared Content-Length over the cap is refused at once (413); a
 * chunked body is counted as it is read and fails once it passes the cap.
 */
@Component
public class RequestSizeFilter extends OncePerRequestFilter {

    static final String TOO_LARGE_MESSAGE = "The request is too large (demo.max-request-size)";

    private final DemoProperties properties;

    public RequestSizeFilter(DemoProperties properties) {
        this.properties = properties;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = request.getRequestURI();
        return !(path.startsWith("/api/") || path.startsWith("/v1/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long max = properties.getMaxRequestSize().toBytes();
        long declared = request.getContentLengthLong();
        if (declared > max) {
            response.setStatus(413);
            response.setContentType(MediaType.APPLICATION_JSON_VALUE);
            String body = request.getRequestURI().startsWith("/v1/")
                    ? "{\"error\":{\"message\":\"" + TOO_LARGE_MESSAGE + "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"too_large\"}}"
                    : "{\"status\":413,\"error\":\"too_large\",\"message\":\"" + TOO_LARGE_MESSAGE + "\",\"param\":null}";
            response.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
            return;
        }
        chain.doFilter(new Limited(request, max), response);
    }

    /** True when {@code e} or one of its causes is the cap being passed. */
    static boolean isTooLarge(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TooLarge) {
                return true;
            }
        }
        return false;
    }

    /** The body passed the cap while being read. */
    static final class TooLarge extends IOException {
        TooLarge() {
            super(TOO_LARGE_MESSAGE);
        }
    }

    private static final class Limited extends HttpServletRequestWrapper {
        private final long max;
        private ServletInputStream stream;

        Limited(HttpServletRequest request, long max) {
            super(request);
            this.max = max;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (stream == null) {
                ServletInputStream in = super.getInputStream();
                stream = new ServletInputStream() {
                    private long count;

                    @Override
                    public int read() throws IOException {
                        int b = in.read();
                        if (b >= 0) {
                            count(1);
                        }
                        return b;
                    }

                    @Override
                    public int read(byte[] buf, int off, int len) throws IOException {
                        int n = in.read(buf, off, len);
                        if (n > 0) {
                            count(n);
                        }
                        return n;
                    }

                    private void count(int n) throws IOException {
                        count += n;
                        if (count > max) {
                            throw new TooLarge();
                        }
                    }

                    @Override
                    public boolean isFinished() {
                        return in.isFinished();
                    }

                    @Override
                    public boolean isReady() {
                        return in.isReady();
                    }

                    @Override
                    public void setReadListener(ReadListener listener) {
                        in.setReadListener(listener);
                    }
                };
            }
            return stream;
        }
    }
}
