package com.example.newcomer;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class NewcomerApplication {

    public static void main(String[] args) {
        SpringApplication.run(NewcomerApplication.class, args);
    }
}
