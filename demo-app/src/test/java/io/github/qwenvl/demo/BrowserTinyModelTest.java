package io.github.qwenvl.demo;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** End to end in the browser on the real tiny model (the tiny profile, as {@code java -jar ... --spring.profiles.active=tiny}). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "spring.ai.qwen-vl.chat.options.max-tokens=24")
@ActiveProfiles("tiny")
class BrowserTinyModelTest {

    static ChromeDriver driver;

    @LocalServerPort
    int port;

    @BeforeAll
    static void startBrowser() {
        driver = Browser.start();
    }

    @AfterAll
    static void stopBrowser() {
        if (driver != null) {
            driver.quit();
        }
    }

    @Test
    void uploadAskAndSeeTheRealModelsStreamedAnswer() {
        driver.get("http://127.0.0.1:" + port + "/");
        assertThat(driver.findElement(By.id("random-weights-banner")).getText())
                .contains("Random weights — answers are gibberish");
        driver.findElement(By.id("images-input")).sendKeys(Fixtures.image("photo_640x480.jpg").toString());
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60), Duration.ofMillis(20));
        wait.until(d -> d.findElements(By.cssSelector("#thumbs .thumb")).size() == 1);
        // before sending, the page shows what the image will cost: the CPU default serving.max-image-tokens (384)
        // scales 640x480 down as smart_resize does for that max_pixels, to 616x448 = 22 x 16 tokens
        wait.until(d -> d.findElements(By.cssSelector("#thumbs .thumb .cost")).size() == 1);
        assertThat(driver.findElement(By.cssSelector("#thumbs .thumb .cost")).getText()).isEqualTo("352 tokens");
        assertThat(driver.findElement(By.id("image-cost-total")).getText()).isEqualTo("≈ 352 image tokens");
        driver.findElement(By.id("question")).sendKeys("Describe this image.");
        driver.findElement(By.id("send")).click();
        WebElement toolbar = wait.until(d -> d.findElement(By.cssSelector(".msg.assistant .toolbar")));
        assertThat(toolbar.getText()).contains("TTFT").contains("→ 24 tokens");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .text")).getText()).isNotBlank();
        assertThat(driver.findElement(By.id("error")).isDisplayed()).isFalse();
        Browser.screenshot(driver, "chat-tiny-model");
    }
}
