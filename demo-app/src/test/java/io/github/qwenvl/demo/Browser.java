package io.github.qwenvl.demo;

import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Headless Chromium from Debian's packages ({@code chromium}, {@code chromium-driver}). Both paths are given, so
 * Selenium Manager never looks for (or downloads) a browser or driver. A missing browser fails the test: CI installs it.
 */
final class Browser {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private Browser() {
    }

    static ChromeDriver start() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new IllegalStateException("Browser tests need " + CHROMIUM + " and " + CHROMEDRIVER
                    + ": apt-get install -y chromium chromium-driver");
        }
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        Path profile;
        try {
            profile = Files.createTempDirectory("demo-chromium-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-extensions", "--disable-default-apps", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--lang=en-US", "--window-size=1280,800", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(1280, 800));
        // make the viewport itself 1280x800 (the window size includes the browser's frame)
        Number innerHeight = (Number) driver.executeScript("return window.innerHeight");
        driver.manage().window().setSize(new Dimension(1280, 800 + (800 - innerHeight.intValue())));
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        return driver;
    }

    /** Saves the viewport as docs/screenshots/{name}.png. */
    static void screenshot(ChromeDriver driver, String name) {
        byte[] png = driver.getScreenshotAs(OutputType.BYTES);
        try {
            // drop the lowest bits of each channel (invisible) so the PNGs stay small in the repository
            java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
            java.awt.image.BufferedImage out = new java.awt.image.BufferedImage(image.getWidth(), image.getHeight(),
                    java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int rgb = image.getRGB(x, y);
                    int r = (rgb >> 16 & 0xff) / 17 * 17, g = (rgb >> 8 & 0xff) / 17 * 17, b = (rgb & 0xff) / 17 * 17;
                    out.setRGB(x, y, r << 16 | g << 8 | b);
                }
            }
            javax.imageio.ImageIO.write(out, "png", Fixtures.screenshots().resolve(name + ".png").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
