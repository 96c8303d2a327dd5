package io.github.qwenvl.demo;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.test.context.ActiveProfiles;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The pages in headless Chromium, with a scripted {@link ChatModel} (deterministic grounded answers) in front of the
 * tiny model (which still describes images and fills the status page). Saves the README's screenshots.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("tiny")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrowserUiTest {

    @TestConfiguration
    static class Scripted {
        @Bean
        @Primary
        ScriptedChatModel scriptedChatModel() {
            return new ScriptedChatModel();
        }
    }

    static ChromeDriver driver;

    @LocalServerPort
    int port;

    @Autowired
    ScriptedChatModel scripted;

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

    private void open(String path) {
        driver.get("http://127.0.0.1:" + port + path);
    }

    private static WebDriverWait waitFor(int seconds) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(20));
    }

    private static void upload(String... names) {
        String paths = String.join("\n", java.util.Arrays.stream(names).map(n -> Fixtures.image(n).toString()).toList());
        driver.findElement(By.id("images-input")).sendKeys(paths);
    }

    /** The rectangle of el relative to the image it is drawn over, as fractions [x, y, w, h]. */
    @SuppressWarnings("unchecked")
    private static double[] relative(WebElement box) {
        List<Number> r = (List<Number>) driver.executeScript(
                "const b = arguments[0].getBoundingClientRect();"
                        + "const i = arguments[0].closest('.figure').querySelector('img').getBoundingClientRect();"
                        + "return [(b.left - i.left) / i.width, (b.top - i.top) / i.height, b.width / i.width, b.height / i.height];",
                box);
        return r.stream().mapToDouble(Number::doubleValue).toArray();
    }

    @Test
    @Order(1)
    void chatStreamsMultiRoundAndDrawsBoxes() {
        open("/");
        assertThat(driver.findElement(By.id("random-weights-banner")).getText()).contains("Random weights");
        upload("photo_640x480.jpg");
        waitFor(5).until(d -> d.findElements(By.cssSelector("#thumbs .thumb")).size() == 1);
        driver.findElement(By.id("question")).sendKeys("Describe this image.");
        driver.findElement(By.id("send")).click();
        // the answer appears piece by piece while the stop button is shown
        WebElement text = waitFor(10).until(d -> d.findElement(By.cssSelector(".msg.assistant .text")));
        String partial = waitFor(10).until(d -> {
            String t = text.getText();
            return !t.isEmpty() && !t.endsWith("token by token.") ? t : null;
        });
        assertThat(driver.findElement(By.id("stop")).isDisplayed()).isTrue();
        waitFor(10).until(d -> d.findElements(By.cssSelector(".msg.assistant .toolbar")).size() == 1);
        assertThat(text.getText()).startsWith(partial).isEqualTo(
                "Round 1: I see 1 image so far. This answer is streamed token by token.");

        // second round: the history (and its image) is sent again
        driver.findElement(By.id("question")).sendKeys("Find the bright square");
        driver.findElement(By.id("send")).click();
        waitFor(10).until(d -> d.findElements(By.cssSelector(".msg.assistant .toolbar")).size() == 2);
        UserMessage first = (UserMessage) scripted.lastPrompt.get().getInstructions().get(0);
        assertThat(first.getMedia()).hasSize(1);
        assertThat(scripted.lastPrompt.get().getInstructions()).hasSize(3);
        List<WebElement> boxes = driver.findElements(By.cssSelector(".msg.assistant .figure .box"));
        assertThat(boxes).hasSize(2);
        double[] r = relative(boxes.get(0));
        assertThat(r[0]).isCloseTo(0.25, within(0.01));
        assertThat(r[1]).isCloseTo(0.25, within(0.01));
        assertThat(r[2]).isCloseTo(0.50, within(0.01));
        assertThat(r[3]).isCloseTo(0.50, within(0.01));
        assertThat(boxes.get(0).getAttribute("data-label")).isEqualTo("the bright square");
        // hovering the phrase highlights its box
        WebElement phrase = driver.findElement(By.cssSelector(".msg.assistant .ref[data-box='0']"));
        assertThat(phrase.getText()).isEqualTo("the bright square");
        new Actions(driver).moveToElement(phrase).perform();
        assertThat(boxes.get(0).getAttribute("class")).contains("hl");
        assertThat(boxes.get(1).getAttribute("class")).doesNotContain("hl");
        driver.executeScript("const c = document.getElementById('conversation'); c.scrollTop = c.scrollHeight;");
        Browser.screenshot(driver, "chat");
    }

    @Test
    @Order(2)
    void chatShowsBusyErrorAndStopCancelsGeneration() {
        open("/");
        driver.findElement(By.id("question")).sendKeys("are you busy?");
        driver.findElement(By.id("send")).click();
        WebElement error = waitFor(10).until(d -> d.findElement(By.id("error")).isDisplayed() ? d.findElement(By.id("error")) : null);
        assertThat(error.getText()).startsWith("Model busy:");
        assertThat(driver.findElement(By.id("question")).getAttribute("value")).isEqualTo("are you busy?");

        driver.findElement(By.id("question")).clear();
        scripted.cancelled.set(false);
        driver.findElement(By.id("question")).sendKeys("tell me a long story");
        driver.findElement(By.id("send")).click();
        waitFor(10).until(d -> d.findElement(By.cssSelector(".msg.assistant .text")).getText().length() > 10);
        driver.findElement(By.id("stop")).click();
        waitFor(10).until(d -> scripted.cancelled.get());
        waitFor(5).until(d -> !d.findElement(By.id("stop")).isDisplayed());
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .toolbar")).getText()).isEqualTo("stopped");
    }

    @Test
    @Order(3)
    void groundingPageDrawsBoxesTogglesRawTextAndDownloadsAnnotatedImage() throws Exception {
        open("/grounding");
        upload("photo_640x480.jpg");
        waitFor(5).until(d -> d.findElements(By.cssSelector("#stage .figure")).size() == 1);
        WebElement object = driver.findElement(By.id("preset-object"));
        object.clear();
        object.sendKeys("squares");
        driver.findElement(By.cssSelector(".preset-buttons [data-template]")).click();
        assertThat(driver.findElement(By.id("question")).getAttribute("value")).startsWith("Find all squares");
        driver.findElement(By.id("send")).click();
        waitFor(10).until(d -> d.findElements(By.cssSelector("#stage .box")).size() == 2);
        List<WebElement> boxes = driver.findElements(By.cssSelector("#stage .box"));
        double[] r = relative(boxes.get(1));
        assertThat(r[0]).isCloseTo(0.0, within(0.01));
        assertThat(r[2]).isCloseTo(0.2, within(0.01));
        assertThat(r[3]).isCloseTo(0.1, within(0.01));
        assertThat(driver.findElement(By.id("answer")).getText())
                .isEqualTo("I found the bright square in the middle and the top-left corner.");
        assertThat(driver.findElements(By.cssSelector("#legend .ref"))).hasSize(2);
        // hovering a box highlights its phrase
        new Actions(driver).moveToElement(boxes.get(0)).perform();
        assertThat(driver.findElement(By.cssSelector("#answer .ref[data-box='0']")).getAttribute("class")).contains("hl");
        Browser.screenshot(driver, "grounding");

        driver.findElement(By.id("raw-toggle")).click();
        assertThat(driver.findElement(By.id("answer")).getText()).contains("<|box_start|>(250,250),(750,750)<|box_end|>");
        driver.findElement(By.id("raw-toggle")).click();

        String href = driver.findElement(By.cssSelector("#downloads a")).getAttribute("href");
        HttpResponse<byte[]> png = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(href)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(png.statusCode()).isEqualTo(200);
        assertThat(png.headers().firstValue("Content-Type")).hasValue("image/png");
        java.awt.image.BufferedImage annotated = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png.body()));
        assertThat(annotated.getWidth()).isEqualTo(640);
        assertThat(annotated.getHeight()).isEqualTo(480);
    }

    @Test
    @Order(4)
    void regionDragIsSentInTheModelsMarkup() {
        open("/region");
        upload("photo_640x480.jpg");
        WebElement img = waitFor(5).until(d -> d.findElement(By.cssSelector("#stage .figure img")));
        waitFor(5).until(d -> (Boolean) driver.executeScript("return arguments[0].complete && arguments[0].naturalWidth > 0", img));
        int w = img.getSize().getWidth();
        int h = img.getSize().getHeight();
        // drag from 10%,20% to 60%,70% of the image (offsets are from the element's centre)
        new Actions(driver)
                .moveToElement(img, (int) (-w / 2.0 + w * 0.1), (int) (-h / 2.0 + h * 0.2))
                .clickAndHold()
                .moveByOffset((int) (w * 0.25), (int) (h * 0.25))
                .moveByOffset((int) (w * 0.25), (int) (h * 0.25))
                .release()
                .perform();
        WebElement markup = waitFor(10).until(d -> d.findElement(By.id("region-markup")).isDisplayed()
                ? d.findElement(By.id("region-markup")) : null);
        String text = markup.getText();
        assertThat(text).startsWith("<|box_start|>(").endsWith(")<|box_end|>");
        int[] n = java.util.Arrays.stream(text.replaceAll("[^0-9,]", " ").trim().split("[ ,]+"))
                .mapToInt(Integer::parseInt).toArray();
        assertThat(n[0]).isCloseTo(100, org.assertj.core.data.Offset.offset(12));
        assertThat(n[1]).isCloseTo(200, org.assertj.core.data.Offset.offset(12));
        assertThat(n[2]).isCloseTo(600, org.assertj.core.data.Offset.offset(12));
        assertThat(n[3]).isCloseTo(700, org.assertj.core.data.Offset.offset(12));
        driver.findElement(By.id("send")).click();
        waitFor(10).until(d -> d.findElements(By.cssSelector("#stage .box")).size() == 1);
        String question = scripted.lastPrompt.get().getInstructions().get(0).getText();
        assertThat(question).isEqualTo("What is in " + text + "?");
        double[] r = relative(driver.findElement(By.cssSelector("#stage .box")));
        assertThat(r[0]).isCloseTo(n[0] / 1000.0, within(0.01));
        assertThat(r[1]).isCloseTo(n[1] / 1000.0, within(0.01));
        Browser.screenshot(driver, "region");
    }

    @Test
    @Order(5)
    void compareShowsImagesSideBySideWithBoxesOnTheRightImage() {
        open("/compare");
        upload("photo_640x480.jpg", "portrait_333x517.png");
        waitFor(5).until(d -> d.findElements(By.cssSelector("#stage .figure")).size() == 2);
        assertThat(driver.findElement(By.id("question")).getAttribute("value")).isEqualTo("What changed between these images?");
        driver.findElement(By.id("send")).click();
        waitFor(10).until(d -> d.findElements(By.cssSelector("#stage .box")).size() == 1);
        List<WebElement> figures = driver.findElements(By.cssSelector("#stage .figure"));
        assertThat(figures.get(0).findElements(By.cssSelector(".box"))).isEmpty();
        WebElement box = figures.get(1).findElement(By.cssSelector(".box"));
        assertThat(box.getAttribute("data-label")).isEqualTo("a new shape");
        double[] r = relative(box);
        assertThat(r[0]).isCloseTo(0.1, within(0.01));
        assertThat(r[1]).isCloseTo(0.2, within(0.01));
        assertThat(scripted.lastPrompt.get().getInstructions().get(0)).isInstanceOf(UserMessage.class);
        assertThat(((UserMessage) scripted.lastPrompt.get().getInstructions().get(0)).getMedia()).hasSize(2);
        Browser.screenshot(driver, "compare");
    }

    @Test
    @Order(6)
    void statusPageShowsModelAndLastRequest() {
        open("/status");
        WebElement model = waitFor(10).until(d -> d.findElement(By.id("status-model")));
        assertThat(model.getText()).isEqualTo("qwen2-vl-tiny-random");
        assertThat(driver.findElement(By.id("status-state")).getText()).isEqualTo("loaded");
        assertThat(driver.findElement(By.id("status-architecture")).getText()).isEqualTo("QWEN2_VL");
        assertThat(driver.findElement(By.id("status-device")).getText()).isEqualTo("cpu()");
        // decode steps shared by the running requests (Java decode under Surefire): at most max-batch-size (4)
        assertThat(driver.findElement(By.id("status-batch")).getText()).contains("in the current step")
                .contains("at most 4");
        assertThat(driver.findElement(By.id("status-ttft")).getText()).endsWith(" ms");
        assertThat(driver.findElement(By.id("status-tps")).getText()).endsWith("tokens/s");
        Browser.screenshot(driver, "status");
    }
}
