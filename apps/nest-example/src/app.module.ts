import { Module } from '@nestjs/common';
import { AskController } from './ask.controller.js';
import { HearthService } from './hearth.service.js';

/** The app: one HearthService provider, one controller. */
@Module({ controllers: [AskController], providers: [HearthService] })
export class AppModule {}
