package io.github.qwenvl.demo.web;

import io.github.qwenvl.demo.DemoProperties;
import io.github.qwenvl.demo.api.GroundingPresets;
import io.github.qwenvl.demo.model.VisionModel;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.ModelAttribute;

/** The pages (Thymeleaf templates; the work happens in the browser against {@code /api}). */
@Controller
public class PageController {

    private final VisionModel vision;
    private final DemoProperties properties;

    public PageController(VisionModel vision, DemoProperties properties) {
        this.vision = vision;
        this.properties = properties;
    }

    @ModelAttribute
    void common(Model model) {
        model.addAttribute("modelId", vision.modelId());
        model.addAttribute("randomWeights", properties.isRandomWeights());
        model.addAttribute("maxImages", properties.getMaxImages());
        model.addAttribute("maxImageBytes", properties.getMaxImageSize().toBytes());
        String arch = vision.architectureIfLoaded().map(io.github.qwenvl.config.ModelArchitecture::name).orElse("");
        model.addAttribute("architecture", arch);
        model.addAttribute("presets", vision.architectureIfLoaded().map(GroundingPresets::forArchitecture)
                .orElse(java.util.List.of()));
    }

    @GetMapping("/")
    public String chat(Model model) {
        model.addAttribute("page", "chat");
        return "chat";
    }

    @GetMapping("/grounding")
    public String grounding(Model model) {
        model.addAttribute("page", "grounding");
        return "grounding";
    }

    @GetMapping("/region")
    public String region(Model model) {
        model.addAttribute("page", "region");
        return "region";
    }

    @GetMapping("/compare")
    public String compare(Model model) {
        model.addAttribute("page", "compare");
        return "compare";
    }

    @GetMapping("/status")
    public String status(Model model) {
        model.addAttribute("page", "status");
        return "status";
    }
}
